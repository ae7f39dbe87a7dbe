ck_component(store DEPS ck_lib PkgConfig::LMDB PkgConfig::CURL PkgConfig::JANSSON)
