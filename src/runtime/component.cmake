ck_component(runtime DEPS ck_cni ck_lib PkgConfig::JANSSON)
