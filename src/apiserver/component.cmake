ck_component(apiserver DEPS ck_store ck_k8s ck_lib PkgConfig::H2O PkgConfig::OPENSSL ${WSLAY_LIB} PkgConfig::ZLIB PkgConfig::CURL)
