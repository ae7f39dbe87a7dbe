ck_component(dns DEPS ck_client ck_k8s ck_lib PkgConfig::LDNS PkgConfig::JANSSON)
