ck_component(k8s DEPS ck_lib PkgConfig::JANSSON)
