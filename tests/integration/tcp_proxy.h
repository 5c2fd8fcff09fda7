// TcpProxy: a loopback TCP proxy for the lossy-network fault test. Clients
// connect to port(); each connection is forwarded to 127.0.0.1:upstream and
// suffers, per the seeded plan, some of:
//  - latency: every forwarded chunk waits a random delay in
//    [min_latency, max_latency] (both directions, in order);
//  - a cut: after a random number of forwarded bytes both sockets are
//    reset (SO_LINGER 0), mid-stream, whatever the calls on it were doing;
//  - a hold: after a random number of bytes forwarding stops, but both
//    sockets stay open (a half-open, silent peer: no FIN, no RST) for
//    hold_for, then they are reset.
// set_faults() changes the plan for connections accepted afterwards (e.g. a
// clean network for the end of a test).
//
// Bounded: at most max_connections at once (more are refused by closing
// them at accept), one thread per connection plus the acceptor (which joins
// finished ones), and every loop wakes at least every 50 ms to notice the
// destructor, which stops and joins everything.
// Thread-safety: stats() and set_faults() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

namespace lcsweep::testing {

struct ProxyFaults {
  std::chrono::milliseconds min_latency{0};
  std::chrono::milliseconds max_latency{0};
  double cut_probability = 0;   // per connection
  double hold_probability = 0;  // per connection (not cut)
  // A faulty connection breaks after a uniform [min, max] bytes (both
  // directions counted together).
  int64_t min_bytes_before_fault = 1024;
  int64_t max_bytes_before_fault = 64 * 1024;
  std::chrono::milliseconds hold_for{3000};
};

struct ProxyStats {
  int64_t connections = 0;
  int64_t refused = 0;  // over max_connections
  int64_t cut = 0;
  int64_t held = 0;
  int64_t bytes = 0;
};

class TcpProxy {
 public:
  // Listens on a free 127.0.0.1 port at once; forwards to `upstream_port`.
  TcpProxy(int upstream_port, ProxyFaults faults, uint64_t seed, int max_connections = 64);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void set_faults(ProxyFaults faults);
  ProxyStats stats() const;

 private:
  struct Connection;
  void AcceptLoop();
  void Serve(Connection* c);
  void ReapFinished();

  const int upstream_port_;
  const int max_connections_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;  // guards faults_, rng_, stats_, connections_
  ProxyFaults faults_;
  std::mt19937_64 rng_;
  ProxyStats stats_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::thread acceptor_;
};

}  // namespace lcsweep::testing
