// MetricsPort: lcsweep-worker's optional HTTP port (--metrics-listen), which
// answers GET /metrics with a MetricsRegistry in the Prometheus text format
// and 404 to everything else. No authentication and no TLS: it serves
// counts only (no tokens, configs or results), so bind it to loopback or a
// private scrape network.
//
// Ownership: borrows the registry, which must outlive the port.
// Thread-safety: Start and the destructor from one thread; requests run on
// the port's own threads.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "common/metrics_registry.h"
#include "common/status.h"

namespace httplib {
class Server;
}

namespace lcsweep::agent {

class MetricsPort {
 public:
  // Binds HOST:PORT (port 0: any free port) and serves on a thread.
  // INVALID_ARGUMENT for a malformed address, UNAVAILABLE when it cannot bind.
  static StatusOr<std::unique_ptr<MetricsPort>> Start(const std::string& listen, const MetricsRegistry* registry);
  ~MetricsPort();  // stops serving and joins the thread
  int port() const { return port_; }

 private:
  MetricsPort() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace lcsweep::agent
