ck_component(agent DEPS ck_proxy ck_dns ck_stream ck_runtime ck_client ck_k8s ck_lib PkgConfig::JANSSON PkgConfig::CURL)
