ck_component(image DEPS ck_lib PkgConfig::CURL PkgConfig::ARCHIVE PkgConfig::OPENSSL PkgConfig::JANSSON PkgConfig::ZLIB)
