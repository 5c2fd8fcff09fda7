#include "server/http/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>

#include "common/logging.h"
#include "server/http/http_auth.h"
#include "server/http/json_api.h"

#ifndef LCSWEEP_BUILD_WEB_ROOT
#define LCSWEEP_BUILD_WEB_ROOT ""
#endif
#ifndef LCSWEEP_INSTALL_WEB_ROOT
#define LCSWEEP_INSTALL_WEB_ROOT ""
#endif

namespace lcsweep {
namespace {

using json = nlohmann::json;

std::shared_ptr<spdlog::logger> Log() { return GetLogger("http"); }

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

const char* MimeType(const std::string& path) {
  static const std::map<std::string, const char*> kTypes = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".map", "application/json"}, {".svg", "image/svg+xml"},
      {".png", "image/png"}, {".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"}};
  const size_t dot = path.rfind('.');
  if (dot != std::string::npos) {
    auto it = kTypes.find(path.substr(dot));
    if (it != kTypes.end()) return it->second;
  }
  return "application/octet-stream";
}

void SendJson(httplib::Response& res, const ApiResponse& api) {
  res.status = api.status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(api.body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// Headers on every answer: no framing (clickjacking), no MIME sniffing, no
// referrer leaking sweep ids to other sites.
void SecurityHeaders(httplib::Response& res) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Content-Security-Policy", "frame-ancestors 'none'");
}

HttpCredentials CredentialsOf(const httplib::Request& req) {
  return {req.get_header_value("Authorization"), req.get_header_value("Cookie"),
          req.get_header_value(HttpAuth::kCsrfHeader)};
}

bool FileReadable(const std::string& path) { return std::ifstream(path).good(); }

std::string SseEvent(const std::string& kind, const json& data) {
  return "event: " + kind + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

}  // namespace

std::string DefaultWebRoot() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("LCSWEEP_WEB_ROOT")) candidates.push_back(env);
  candidates.push_back(LCSWEEP_BUILD_WEB_ROOT);
  candidates.push_back(LCSWEEP_INSTALL_WEB_ROOT);
  for (const auto& c : candidates) {
    if (!c.empty() && IsFile(c + "/index.html")) return c;
  }
  return "";
}

HttpServer::HttpServer(Coordinator* coordinator, HttpOptions options)
    : coordinator_(coordinator), options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  if (server_) return FailedPreconditionError("the dashboard server is already started");
  const size_t colon = options_.listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgumentError("--http-listen '" + options_.listen + "' is not HOST:PORT (e.g. 127.0.0.1:8080)");
  }
  std::string host = options_.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(options_.listen.substr(colon + 1), &used);
    if (used != options_.listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return InvalidArgumentError("--http-listen '" + options_.listen + "': the port must be 0..65535");
  }
  web_root_ = options_.web_root.empty() ? DefaultWebRoot() : options_.web_root;
  if (web_root_.empty() || !IsFile(web_root_ + "/index.html")) {
    Log()->warn("event=no_dashboard_files web_root=\"{}\" fix=\"build the lcsweep_web target or set LCSWEEP_WEB_ROOT\"",
                web_root_);
  }

  tls_ = !options_.tls_cert_file.empty() || !options_.tls_key_file.empty();
  if (tls_) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return InvalidArgumentError("dashboard TLS needs both a certificate and a key (--tls-cert, --tls-key)");
    }
    for (const std::string* f : {&options_.tls_cert_file, &options_.tls_key_file}) {
      if (!FileReadable(*f)) return InvalidArgumentError("cannot read " + *f + " for the dashboard's TLS");
    }
    auto ssl = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(), options_.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      return InvalidArgumentError("the dashboard cannot use certificate " + options_.tls_cert_file + " with key " +
                                  options_.tls_key_file + " (not PEM, or the key does not match)");
    }
    server_ = std::move(ssl);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  auth_ = std::make_unique<HttpAuth>(options_.credentials, options_.session_ttl_seconds * 1000);
  api_ = std::make_unique<JsonApi>(coordinator_);
  const int threads = options_.threads > 0 ? options_.threads : 32;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server_->set_keep_alive_max_count(1000);
  server_->set_payload_max_length(1 << 20);
  Route();

  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ <= 0) port_ = -1;
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ < 0) {
    server_.reset();
    return UnavailableError("cannot listen on " + options_.listen +
                            " for the dashboard (port in use or address not local?); pick another with --http-listen");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // Parse every job once now rather than on the first visitor's request.
  warmup_ = std::thread([api = api_.get()] { api->WarmUp(); });
  Log()->info("event=dashboard_listening url={}://{}:{}/ auth={} web_root=\"{}\"", tls_ ? "https" : "http", host,
              port_, auth_->enabled() ? "on" : "off", web_root_);
  return OkStatus();
}

void HttpServer::Stop() {
  if (!server_ || stopping_.exchange(true)) return;
  coordinator_->feed().WakeAll();  // the event streams see stopping_ and end
  server_->stop();
  if (thread_.joinable()) thread_.join();
  if (warmup_.joinable()) warmup_.join();
}

void HttpServer::RouteSession() {
  auto health = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content("{\"status\":\"ok\"}", "application/json");
  };
  server_->Get("/healthz", health);
  server_->Get("/api/v1/healthz", health);

  server_->Post("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
    // JSON only: a cross-site HTML form cannot send it without a preflight.
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      SendJson(res, ErrorResponse(415, "sign-in takes Content-Type: application/json", "send {\"token\": \"...\"}"));
      return;
    }
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
      SendJson(res, ErrorResponse(400, "expected {\"token\": \"...\"}", "paste the token from `lcsweep token`"));
      return;
    }
    auth::Principal who;
    StatusOr<auth::SessionTable::Created> s = auth_->SignIn(body["token"].get<std::string>(), &who);
    if (!s.ok()) {
      const bool off = s.status().code() == StatusCode::kFailedPrecondition;
      Log()->warn("event=sign_in_refused remote={} reason=\"{}\"", req.remote_addr, s.status().message());
      SendJson(res, ErrorResponse(off ? 409 : s.status().code() == StatusCode::kResourceExhausted ? 503 : 401,
                                  s.status().message(),
                                  off ? "start the coordinator with --tokens-file" : "check the token"));
      return;
    }
    Log()->info("event=sign_in name=\"{}\" role={} remote={}", who.name, auth::RoleName(who.role), req.remote_addr);
    res.set_header("Set-Cookie", auth_->SessionCookie(s->id, tls_));
    SendJson(res, ApiResponse{200, json{{"name", who.name},
                                        {"role", auth::RoleName(who.role)},
                                        {"can_mutate", auth::RoleAllows(who.role, auth::Access::kJobWrite)},
                                        {"csrf_token", s->csrf_token},
                                        {"expires_in_seconds", options_.session_ttl_seconds}}});
  });
  server_->Get("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
    HttpDecision d = auth_->Check("GET", req.path, CredentialsOf(req));
    if (d.status != 200) {
      SendJson(res, ErrorResponse(d.status, d.error, d.hint));
      return;
    }
    json out = {{"name", d.principal.name},
                {"role", auth::RoleName(d.principal.role)},
                {"can_mutate", auth_->enabled() && auth::RoleAllows(d.principal.role, auth::Access::kJobWrite)},
                {"auth", auth_->enabled()},
                {"session", d.via_session}};
    if (d.via_session) out["csrf_token"] = d.session_csrf;
    SendJson(res, ApiResponse{200, out});
  });
  server_->Delete("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
    HttpCredentials c = CredentialsOf(req);
    HttpDecision d = auth_->Check("DELETE", req.path, c);
    if (d.status != 200) {
      SendJson(res, ErrorResponse(d.status, d.error, d.hint));
      return;
    }
    auth_->SignOut(c);
    res.set_header("Set-Cookie", HttpAuth::ClearedCookie(tls_));
    SendJson(res, ApiResponse{200, json{{"signed_out", d.via_session}}});
  });
}

void HttpServer::Route() {
  server_->set_post_routing_handler([](const httplib::Request&, httplib::Response& res) { SecurityHeaders(res); });
  RouteSession();
  // Refuses the request (and answers it) unless its principal may reach the route.
  auto gate = [this](const httplib::Request& req, httplib::Response& res, const std::string& method,
                     HttpDecision* out) {
    *out = auth_->Check(method, req.path, CredentialsOf(req));
    if (out->status == 200) return true;
    SendJson(res, ErrorResponse(out->status, out->error, out->hint));
    return false;
  };
  auto to_request = [](const httplib::Request& req, const std::string& method, const HttpDecision& d) {
    ApiRequest r;
    r.method = method;
    r.path = req.path;
    for (const auto& [k, v] : req.params) r.query[k] = v;
    r.role = auth::RoleName(d.principal.role);
    r.token_presented = true;
    return r;
  };

  server_->Get("/api/v1/stream", [this, gate](const httplib::Request& req, httplib::Response& res) {
    HttpDecision d;
    if (!gate(req, res, "GET", &d)) return;
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    auto cursor = std::make_shared<uint64_t>(coordinator_->feed().Cursor());
    auto first = std::make_shared<bool>(true);
    res.set_chunked_content_provider(
        "text/event-stream", [this, cursor, first](size_t, httplib::DataSink& sink) {
          if (*first) {
            *first = false;
            std::string hello = "retry: 1000\n" + SseEvent("hello", json{{"version", coordinator_->Version()}});
            return sink.write(hello.data(), hello.size());
          }
          ChangeFeed& feed = coordinator_->feed();
          ChangeFeed::Batch batch =
              feed.Wait(*cursor, std::chrono::steady_clock::now() + std::chrono::seconds(15));
          if (batch.closed || stopping_) {
            sink.done();
            return false;
          }
          if (batch.changes.empty()) {
            static const std::string kKeepAlive = ": keep-alive\n\n";
            return sink.write(kKeepAlive.data(), kKeepAlive.size());
          }
          // Coalesce a burst (many workers reporting at once) into one write.
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          ChangeFeed::Batch more = feed.Read(batch.next_cursor);
          batch.changes.insert(batch.changes.end(), more.changes.begin(), more.changes.end());
          *cursor = std::max(batch.next_cursor, more.next_cursor);
          std::string out;
          if (batch.lost || more.lost) out += SseEvent("hello", json{{"resync", true}});
          std::set<int64_t> jobs, workers, sweeps;
          std::map<int64_t, std::pair<json, bool>> metrics;  // job -> (points, truncated)
          for (const std::shared_ptr<const Change>& c : batch.changes) {
            const Change& n = *c;
            switch (n.kind) {
              case Change::Kind::kJob: jobs.insert(n.id); break;
              case Change::Kind::kWorker: workers.insert(n.id); break;
              case Change::Kind::kSweep: sweeps.insert(n.id); break;
              case Change::Kind::kEvent: break;  // the "job" event covers state changes
              case Change::Kind::kMetrics: {
                auto& [points, truncated] = metrics[n.id];
                if (points.is_null()) points = json::array();
                for (const auto& p : n.points) {
                  points.push_back(json::array({p.name, p.step,
                                                std::isfinite(p.value) ? json(p.value) : json(nullptr),
                                                p.epoch, p.time_ms, p.attempt}));
                }
                truncated = truncated || n.truncated;
                break;
              }
            }
          }
          for (int64_t id : jobs) {
            json e = api_->JobEvent(id);
            if (!e.is_null()) out += SseEvent("job", e);
          }
          for (auto& [id, entry] : metrics) {
            out += SseEvent("metrics", json{{"id", id},
                                            {"columns", {"name", "step", "value", "epoch", "time_ms", "attempt"}},
                                            {"points", std::move(entry.first)},
                                            {"truncated", entry.second}});
          }
          for (int64_t id : workers) out += SseEvent("worker", json{{"id", id}});
          for (int64_t id : sweeps) out += SseEvent("sweep", json{{"id", id}});
          return sink.write(out.data(), out.size());
        });
  });

  server_->Get("/metrics", [this, gate](const httplib::Request& req, httplib::Response& res) {
    HttpDecision d;
    if (!options_.metrics_public && !gate(req, res, "GET", &d)) return;
    if (options_.metrics == nullptr) {
      res.status = 404;
      res.set_content("no metrics in this process\n", "text/plain; charset=utf-8");
      return;
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(options_.metrics->Expose(), MetricsRegistry::kContentType);
  });

  // A job's final model file (spec.proto Model), streamed from the artifact
  // directory; read access like the rest of the API. Errors are the API's
  // JSON errors, with the coordinator's reason when there is no model.
  server_->Get(R"(/api/v1/jobs/(\d{1,18})/model)", [this, gate](const httplib::Request& req,
                                                                 httplib::Response& res) {
    HttpDecision d;
    if (!gate(req, res, "GET", &d)) return;
    const int64_t job_id = std::stoll(req.matches[1].str());
    StatusOr<ModelMeta> model = coordinator_->ModelOfJob(job_id);
    if (!model.ok()) {
      SendJson(res, FromStatus(model.status(), "models are stored when a job succeeds (docs/python.md, Models)"));
      return;
    }
    auto file = std::make_shared<std::ifstream>(model->path, std::ios::binary);
    if (!*file) {
      SendJson(res, ErrorResponse(500, "the model of job " + std::to_string(job_id) +
                                           " is recorded but its file is missing",
                                  "check the coordinator's --artifacts directory"));
      return;
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Disposition", "attachment; filename=\"job-" + std::to_string(job_id) + "-model.pt\"");
    res.set_header("X-Lcsweep-Sha256", model->sha256);
    res.set_content_provider(static_cast<size_t>(model->size_bytes), "application/octet-stream",
                             [file](size_t offset, size_t length, httplib::DataSink& sink) {
                               std::string buf(std::min<size_t>(length, 1 << 20), '\0');
                               file->seekg(static_cast<std::streamoff>(offset));
                               file->read(buf.data(), static_cast<std::streamsize>(buf.size()));
                               const std::streamsize got = file->gcount();
                               if (got <= 0) return false;
                               return sink.write(buf.data(), static_cast<size_t>(got));
                             });
  });

  auto api_handler = [this, gate, to_request](const std::string& method) {
    return [this, gate, to_request, method](const httplib::Request& req, httplib::Response& res) {
      HttpDecision d;
      if (!gate(req, res, method, &d)) return;
      SendJson(res, api_->Handle(to_request(req, method, d)));
    };
  };
  server_->Get(R"(/api/.*)", api_handler("GET"));
  server_->Post(R"(/api/.*)", api_handler("POST"));
  server_->Put(R"(/api/.*)", api_handler("PUT"));
  server_->Delete(R"(/api/.*)", api_handler("DELETE"));

  // Static files: the single-page app and its vendored chart library.
  server_->Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    std::string path = req.path;
    if (path.empty() || path == "/") path = "/index.html";
    if (RouteAccessFor("GET", path) == RouteAccess::kPage &&
        auth_->Check("GET", path, CredentialsOf(req)).status != 200) {
      res.set_redirect("/login.html");
      res.set_header("Cache-Control", "no-store");
      return;
    }
    if (path.find("..") != std::string::npos || path.find('\0') != std::string::npos) {
      res.status = 400;
      res.set_content("bad path", "text/plain");
      return;
    }
    const std::string file = web_root_ + path;
    std::ifstream in(file, std::ios::binary);
    if (web_root_.empty() || !in) {
      res.status = 404;
      res.set_content(web_root_.empty() ? "The dashboard files are not installed: build the lcsweep_web target, "
                                          "or set LCSWEEP_WEB_ROOT to the folder with index.html.\n"
                                        : "not found: " + path + "\n",
                      "text/plain; charset=utf-8");
      return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    res.set_header("Cache-Control", "no-cache");
    res.set_content(ss.str(), MimeType(path));
  });

  server_->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    Log()->error("event=request_failed path=\"{}\" error=\"{}\"", req.path, what);
    SendJson(res, ErrorResponse(500, "internal error: " + what, "see the coordinator's log"));
  });
}

}  // namespace lcsweep
