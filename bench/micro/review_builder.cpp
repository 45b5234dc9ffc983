#include "review_builder.h"

#include <nlohmann/json.hpp>

#include "admission_review.h"  // test/support: the one AdmissionReview builder of the C++ suites

namespace dsw::bench {

using nlohmann::json;

namespace {

json component(std::size_t i) {
  return {{"name", "user-table-" + std::to_string(i)},
          {"type", "aws-dynamodb-kro"},
          {"properties",
           {{"tableName", "users-table-" + std::to_string(i)},
            {"region", "us-east-1"},
            {"attributeDefinitions", json::array({{{"attributeName", "userId"}, {"attributeType", "S"}}})},
            {"keySchema", json::array({{{"attributeName", "userId"}, {"keyType", "HASH"}}})}}},
          {"traits", json::array({{{"type", "dynamodb-streams-kro"}}})}};
}

}  // namespace

std::string make_review(std::size_t components) {
  json comps = json::array();
  for (std::size_t i = 0; i < components; ++i) comps.push_back(component(i));
  json app = {{"apiVersion", "core.oam.dev/v1beta1"},
              {"kind", "Application"},
              {"metadata",
               {{"name", "user-table-with-streams"},
                {"namespace", "default"},
                {"uid", "7f0c1e2a-3b4c-4d5e-8f90-1a2b3c4d5e6f"},
                {"generation", 1},
                {"labels", {{"team", "data"}}}}},
              {"spec", {{"components", std::move(comps)}}}};
  return dsw::testing::review("CREATE", std::move(app)).dump();
}

}  // namespace dsw::bench
