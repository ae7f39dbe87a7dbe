ck_component(scheduler DEPS ck_client ck_k8s ck_lib PkgConfig::JANSSON PkgConfig::CURL)
