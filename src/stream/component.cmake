ck_component(stream DEPS ck_lib PkgConfig::ZLIB)
