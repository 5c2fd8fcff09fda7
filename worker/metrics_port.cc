#include "worker/metrics_port.h"

#include <httplib.h>

namespace lcsweep::agent {

StatusOr<std::unique_ptr<MetricsPort>> MetricsPort::Start(const std::string& listen, const MetricsRegistry* registry) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos && colon > 0) {
    try {
      size_t used = 0;
      port = std::stoi(listen.substr(colon + 1), &used);
      if (used != listen.size() - colon - 1) port = -1;
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (port < 0 || port > 65535) {
    return InvalidArgumentError("--metrics-listen '" + listen + "' is not HOST:PORT (e.g. 127.0.0.1:9464)");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);

  std::unique_ptr<MetricsPort> p(new MetricsPort());
  p->server_ = std::make_unique<httplib::Server>();
  p->server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  p->server_->Get("/metrics", [registry](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(registry->Expose(), MetricsRegistry::kContentType);
  });
  p->port_ = port == 0 ? p->server_->bind_to_any_port(host) : (p->server_->bind_to_port(host, port) ? port : -1);
  if (p->port_ <= 0) return UnavailableError("cannot listen on " + listen + " for --metrics-listen");
  p->thread_ = std::thread([s = p->server_.get()] { s->listen_after_bind(); });
  return p;
}

MetricsPort::~MetricsPort() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace lcsweep::agent
