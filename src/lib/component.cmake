ck_component(lib DEPS PkgConfig::JANSSON PkgConfig::YAML PkgConfig::OPENSSL PkgConfig::ZLIB)
