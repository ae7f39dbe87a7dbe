ck_component(cni DEPS ck_lib PkgConfig::JANSSON)
