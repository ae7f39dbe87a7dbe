ck_component(controllers DEPS ck_client ck_k8s ck_lib PkgConfig::JANSSON)
