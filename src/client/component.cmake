ck_component(client DEPS ck_lib PkgConfig::CURL PkgConfig::JANSSON PkgConfig::YAML PkgConfig::OPENSSL)
