ck_component(store DEPS ck_lib PkgConfig::LMDB PkgConfig::DEFLATE PkgConfig::CURL PkgConfig::JANSSON)
