#include "tests/integration/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

namespace lcsweep::testing {

namespace {

constexpr int kTickMs = 50;

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Closes with RST instead of FIN: the peer sees "connection reset" mid-call.
void Reset(int fd) {
  if (fd < 0) return;
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

}  // namespace

enum class Fault { kNone, kCut, kHold };

struct TcpProxy::Connection {
  int client = -1;
  int upstream = -1;
  Fault fault = Fault::kNone;
  int64_t fault_after_bytes = 0;
  std::chrono::milliseconds hold_for{0};
  std::chrono::milliseconds min_latency{0}, max_latency{0};
  uint64_t seed = 0;
  std::atomic<bool> done{false};
  std::thread thread;
};

TcpProxy::TcpProxy(int upstream_port, ProxyFaults faults, uint64_t seed, int max_connections)
    : upstream_port_(upstream_port), max_connections_(max_connections), faults_(faults), rng_(seed) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 128) != 0) {
    throw std::runtime_error("TcpProxy: cannot listen on loopback");
  }
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  acceptor_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : connections_) c->thread.join();
  connections_.clear();
  close(listen_fd_);
}

void TcpProxy::set_faults(ProxyFaults faults) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_ = faults;
}

ProxyStats TcpProxy::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void TcpProxy::ReapFinished() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void TcpProxy::AcceptLoop() {
  while (!stop_) {
    ReapFinished();
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, kTickMs) <= 0) continue;
    const int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.connections;
    if (static_cast<int>(connections_.size()) >= max_connections_) {
      ++stats_.refused;
      Reset(client);
      continue;
    }
    const int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    if (connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      // The coordinator is down: the client sees what it would see without us.
      close(upstream);
      Reset(client);
      continue;
    }
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SetNonBlocking(client);
    SetNonBlocking(upstream);
    auto c = std::make_unique<Connection>();
    c->client = client;
    c->upstream = upstream;
    const double draw = std::uniform_real_distribution<double>(0, 1)(rng_);
    c->fault = draw < faults_.cut_probability ? Fault::kCut
               : draw < faults_.cut_probability + faults_.hold_probability ? Fault::kHold
                                                                           : Fault::kNone;
    c->fault_after_bytes = std::uniform_int_distribution<int64_t>(
        faults_.min_bytes_before_fault, faults_.max_bytes_before_fault)(rng_);
    c->hold_for = faults_.hold_for;
    c->min_latency = faults_.min_latency;
    c->max_latency = faults_.max_latency;
    c->seed = rng_();
    Connection* raw = c.get();
    c->thread = std::thread([this, raw] { Serve(raw); });
    connections_.push_back(std::move(c));
  }
}

void TcpProxy::Serve(Connection* c) {
  std::mt19937_64 rng(c->seed);
  std::uniform_int_distribution<int64_t> latency(c->min_latency.count(), c->max_latency.count());
  int64_t forwarded = 0;
  std::vector<char> buf(16 * 1024);
  auto sleep_ticks = [&](std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(kTickMs, d.count())));
    }
  };
  // Writes all of [data, data+n) to `fd`; false when it is gone (or stop).
  auto write_all = [&](int fd, const char* data, size_t n) {
    while (n > 0 && !stop_) {
      const ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
      if (w > 0) {
        data += w;
        n -= static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, kTickMs);
        continue;
      }
      return false;
    }
    return n == 0;
  };
  bool open = true;
  while (open && !stop_) {
    if (c->fault != Fault::kNone && forwarded >= c->fault_after_bytes) break;
    pollfd fds[2] = {{c->client, POLLIN, 0}, {c->upstream, POLLIN, 0}};
    if (poll(fds, 2, kTickMs) <= 0) continue;
    for (int i = 0; i < 2 && open; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const int from = i == 0 ? c->client : c->upstream;
      const int to = i == 0 ? c->upstream : c->client;
      size_t want = buf.size();
      if (c->fault != Fault::kNone) {
        // Break exactly at the planned byte: mid-message, mid-frame.
        want = static_cast<size_t>(std::min<int64_t>(want, c->fault_after_bytes - forwarded));
        if (want == 0) break;
      }
      const ssize_t r = recv(from, buf.data(), want, 0);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        open = false;  // a peer closed: pass the close on
        break;
      }
      if (r < 0) continue;
      if (c->max_latency.count() > 0) sleep_ticks(std::chrono::milliseconds(latency(rng)));
      if (!write_all(to, buf.data(), static_cast<size_t>(r))) open = false;
      forwarded += r;
      std::lock_guard<std::mutex> lock(mu_);
      stats_.bytes += r;
    }
  }
  if (open && !stop_ && c->fault == Fault::kHold) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.held;
    }
    sleep_ticks(c->hold_for);  // silent: nothing read, nothing written, nothing closed
  } else if (open && !stop_ && c->fault == Fault::kCut) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.cut;
  }
  Reset(c->client);
  Reset(c->upstream);
  c->done = true;
}

}  // namespace lcsweep::testing
