ck_component(apiserver DEPS ck_store ck_k8s ck_stream ck_lib PkgConfig::H2O PkgConfig::OPENSSL ${WSLAY_LIB} PkgConfig::ZLIB PkgConfig::CURL PkgConfig::LIBJWT PkgConfig::CJOSE PkgConfig::SODIUM)
# <h2o/http2_internal.h> includes "khash.h", which Debian's libh2o-dev does not ship: the
# lookup-only shim in http/compat/ (see its header).
target_include_directories(ck_apiserver PRIVATE ${CMAKE_SOURCE_DIR}/src/apiserver/http/compat)
