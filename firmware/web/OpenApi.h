// docs/openapi.yaml, built into cuebox-web (GET /api/openapi.yaml), and the
// route table as JSON (cuebox-web --routes, compared with the document by
// test/integration/test_openapi.py).
#pragma once

#include <string>
#include <string_view>

namespace cuebox::web {

std::string_view openApiYaml();
std::string routesJson();

}  // namespace cuebox::web
