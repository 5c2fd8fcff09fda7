// The dashboard API's request and response values and the small parsers its
// handlers share (no HTTP library types: HttpServer converts).
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace lcsweep {

struct ApiRequest {
  std::string method = "GET";
  std::string path;                           // e.g. "/api/v1/sweeps/3/jobs"
  std::map<std::string, std::string> query;   // decoded query parameters
  std::string role;                           // role of the bearer token; "" = none
  bool token_presented = false;               // an Authorization header was sent
};

struct ApiResponse {
  int status = 200;
  nlohmann::json body;
};

// HTTP status for a Status code (OK -> 200).
int HttpStatusFor(const Status& status);
// {"error": ..., "hint": ...}
ApiResponse ErrorResponse(int http_status, const std::string& error, const std::string& hint);
ApiResponse FromStatus(const Status& s, const std::string& hint);

namespace api {

// A decimal integer of at most 18 digits; nullopt otherwise.
std::optional<int64_t> ParseInt(const std::string& s);
std::optional<double> ParamDouble(const ApiRequest& r, const std::string& key);
std::string Param(const ApiRequest& r, const std::string& key, const std::string& dflt = "");
// Non-empty parts of `s` between `sep`s.
std::vector<std::string> SplitList(const std::string& s, char sep = ',');
std::string Lower(std::string s);

}  // namespace api
}  // namespace lcsweep
