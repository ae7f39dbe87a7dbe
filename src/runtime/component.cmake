ck_component(runtime DEPS ck_image ck_cni ck_lib PkgConfig::JANSSON)
