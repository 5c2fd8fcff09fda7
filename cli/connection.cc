#include "cli/connection.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/tls_diagnosis.h"
#include "proto/convert.h"

namespace lcsweep::cli {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

StatusOr<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return InvalidArgumentError("cannot read " + what + " " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The first line of a token file, trimmed.
StatusOr<std::string> ReadToken(const std::string& path) {
  LCSWEEP_ASSIGN_OR_RETURN(std::string text, ReadFile(path, "token file"));
  std::string line = text.substr(0, text.find('\n'));
  line = Trim(line);
  if (line.empty()) return InvalidArgumentError("token file " + path + " is empty");
  return line;
}

std::string DefaultConfigPath() {
  std::string xdg = Env("XDG_CONFIG_HOME");
  if (!xdg.empty()) return xdg + "/lcsweep/config.json";
  std::string home = Env("HOME");
  if (home.empty()) return "";
  return home + "/.config/lcsweep/config.json";
}

}  // namespace

StatusOr<ConnectionSettings> ResolveSettings(const ConnectionFlags& flags) {
  ConnectionSettings s;
  s.timeout_seconds = flags.timeout_seconds;
  s.source = "the default";

  // The config file: lowest precedence, read first.
  std::string config_path = flags.config_file;
  if (config_path.empty()) config_path = Env("LCSWEEP_CONFIG");
  bool explicit_config = !config_path.empty();
  if (config_path.empty()) config_path = DefaultConfigPath();
  nlohmann::json file_cfg = nlohmann::json::object();
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      file_cfg = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
      if (!file_cfg.is_object()) {
        return InvalidArgumentError(config_path +
                                    ": expected a JSON object with any of \"coordinator\", "
                                    "\"token\", \"token_file\", \"tls_ca\", \"tls_cert\", \"tls_key\", \"tls\"");
      }
      for (const auto& [key, value] : file_cfg.items()) {
        bool ok = (key == "tls") ? value.is_boolean()
                                 : (key == "coordinator" || key == "token" || key == "token_file" ||
                                    key == "tls_ca" || key == "tls_cert" || key == "tls_key") &&
                                       value.is_string();
        if (!ok) {
          return InvalidArgumentError(config_path + ": key \"" + key +
                                      "\": expected \"coordinator\", \"token\", \"token_file\", "
                                      "\"tls_ca\", \"tls_cert\", \"tls_key\" (strings) or \"tls\" "
                                      "(boolean)");
        }
      }
    } else if (explicit_config) {
      return InvalidArgumentError("cannot read config file " + config_path);
    }
  }
  auto from_file = [&](const char* key) {
    return file_cfg.contains(key) ? file_cfg[key].get<std::string>() : std::string();
  };

  // Coordinator address.
  if (!flags.coordinator.empty()) {
    s.coordinator = flags.coordinator;
    s.source = "--coordinator";
  } else if (!Env("LCSWEEP_COORDINATOR").empty()) {
    s.coordinator = Env("LCSWEEP_COORDINATOR");
    s.source = "LCSWEEP_COORDINATOR";
  } else if (!from_file("coordinator").empty()) {
    s.coordinator = from_file("coordinator");
    s.source = config_path;
  }

  // Token: a flag (value or file) beats the environment, which beats the file.
  if (!flags.token.empty()) {
    s.token = flags.token;
  } else if (!flags.token_file.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(s.token, ReadToken(flags.token_file));
  } else if (!Env("LCSWEEP_TOKEN").empty()) {
    s.token = Trim(Env("LCSWEEP_TOKEN"));
  } else if (!Env("LCSWEEP_TOKEN_FILE").empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(s.token, ReadToken(Env("LCSWEEP_TOKEN_FILE")));
  } else if (!from_file("token").empty()) {
    s.token = from_file("token");
  } else if (!from_file("token_file").empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(s.token, ReadToken(from_file("token_file")));
  }

  // TLS.
  std::string ca = flags.tls_ca;
  if (ca.empty()) ca = Env("LCSWEEP_TLS_CA");
  if (ca.empty()) ca = from_file("tls_ca");
  if (!ca.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(s.tls_ca_pem, ReadFile(ca, "TLS CA file"));
    s.tls = true;
  } else if (file_cfg.contains("tls") && file_cfg["tls"].get<bool>()) {
    s.tls = true;
  }
  // A client certificate (mutual TLS): flag, else environment, else config file.
  std::string cert = !flags.tls_cert.empty() ? flags.tls_cert : Env("LCSWEEP_TLS_CERT");
  if (cert.empty()) cert = from_file("tls_cert");
  std::string key = !flags.tls_key.empty() ? flags.tls_key : Env("LCSWEEP_TLS_KEY");
  if (key.empty()) key = from_file("tls_key");
  if (cert.empty() != key.empty()) {
    return InvalidArgumentError("a client certificate needs both --tls-cert and --tls-key");
  }
  if (!cert.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(s.tls_cert_pem, ReadFile(cert, "TLS client certificate"));
    LCSWEEP_ASSIGN_OR_RETURN(s.tls_key_pem, ReadFile(key, "TLS client key"));
    s.tls = true;
  }
  return s;
}

Connection::Connection(ConnectionSettings settings) : settings_(std::move(settings)) {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (settings_.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = settings_.tls_ca_pem;
    ssl.pem_cert_chain = settings_.tls_cert_pem;
    ssl.pem_private_key = settings_.tls_key_pem;
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  channel_ = grpc::CreateCustomChannel(settings_.coordinator, creds, args);
  job_stub_ = v1::JobService::NewStub(channel_);
  worker_stub_ = v1::WorkerService::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> Connection::Context(bool deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!settings_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + settings_.token);
  if (deadline) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(static_cast<int64_t>(settings_.timeout_seconds * 1000)));
  }
  return ctx;
}

std::string Connection::TlsProblem() const {
  TlsClientSettings t;
  t.target = settings_.coordinator;
  t.tls = settings_.tls;
  t.ca_pem = settings_.tls_ca_pem;
  t.cert_pem = settings_.tls_cert_pem;
  t.key_pem = settings_.tls_key_pem;
  const std::string why = DiagnoseTls(t);
  return why.empty() ? why : "cannot connect to the coordinator at " + settings_.coordinator + ": " + why;
}

Status Connection::WaitConnected() const {
  auto deadline = std::chrono::system_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(settings_.timeout_seconds * 1000));
  // Wait for READY; at the first failed attempt ask whether TLS is why, so
  // that a certificate problem is reported at once, not after the timeout
  // (it will not mend itself; a coordinator that is still starting might).
  bool diagnosed = false;
  for (grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
       state != GRPC_CHANNEL_READY; state = channel_->GetState(/*try_to_connect=*/true)) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && !diagnosed) {
      diagnosed = true;
      if (std::string tls = TlsProblem(); !tls.empty()) return UnavailableError(tls);
    }
    if (!channel_->WaitForStateChange(state, deadline)) break;
  }
  if (channel_->GetState(false) == GRPC_CHANNEL_READY) return OkStatus();
  if (std::string tls = TlsProblem(); !tls.empty()) return UnavailableError(tls);
  return UnavailableError("cannot reach the coordinator at " + settings_.coordinator + " (from " +
                          settings_.source +
                          "): is lcsweep-coordinator running? set --coordinator or "
                          "LCSWEEP_COORDINATOR" +
                          (settings_.tls ? std::string(" (TLS is on: check --tls-ca)") : ""));
}

Status Connection::Explain(const grpc::Status& status, const std::string& what) const {
  if (status.ok()) return OkStatus();
  const std::string& at = settings_.coordinator;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (std::string tls = TlsProblem(); !tls.empty()) return UnavailableError(what + ": " + tls);
      if (status.error_message().find("connect") != std::string::npos ||
          status.error_message().find("failed to") != std::string::npos) {
        return UnavailableError("cannot reach the coordinator at " + at +
                                ": is lcsweep-coordinator running? set --coordinator or "
                                "LCSWEEP_COORDINATOR (" + status.error_message() + ")");
      }
      return UnavailableError(what + ": the coordinator at " + at +
                              " is unavailable: " + status.error_message() + "; retry later");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return UnavailableError(what + ": the coordinator at " + at + " did not answer within " +
                              std::to_string(static_cast<int>(settings_.timeout_seconds)) +
                              " s (--timeout)");
    case grpc::StatusCode::UNAUTHENTICATED:
      return UnauthenticatedError(
          what + ": the coordinator at " + at + " refused the token (" + status.error_message() +
          "); give a valid one with --token, --token-file or LCSWEEP_TOKEN" +
          (settings_.token.empty() ? " (none was given)" : ""));
    case grpc::StatusCode::PERMISSION_DENIED:
      return PermissionDeniedError(what + ": the token's role does not allow this: " +
                                   status.error_message());
    default: {
      Status st = FromGrpcStatus(status);
      return Status(st.code(), what + ": " + st.message());
    }
  }
}

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return kExitUsage;
    case StatusCode::kNotFound: return kExitNotFound;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied: return kExitAuth;
    case StatusCode::kUnavailable: return kExitUnreachable;
    default: return kExitFailure;
  }
}

}  // namespace lcsweep::cli
