#include "common/tls_diagnosis.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <memory>

namespace lcsweep {
namespace {

struct HostPort {
  std::string host, port;
};

bool Split(std::string target, HostPort* out) {
  if (target.rfind("dns:///", 0) == 0) target = target.substr(7);
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  out->host = target.substr(0, colon);
  out->port = target.substr(colon + 1);
  if (out->host.size() > 2 && out->host.front() == '[' && out->host.back() == ']') {
    out->host = out->host.substr(1, out->host.size() - 2);
  }
  return true;
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// A blocking TCP connection whose reads and writes time out; -1 if none.
int Connect(const HostPort& hp, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &found) != 0) return -1;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));  // bounds connect() too
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

std::string BioText(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, n > 0 ? static_cast<size_t>(n) : 0);
  BIO_free(b);
  return out;
}

std::string NameText(X509_NAME* name) {
  BIO* b = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
  return BioText(b);
}

std::string TimeText(const ASN1_TIME* t) {
  BIO* b = BIO_new(BIO_s_mem());
  ASN1_TIME_print(b, t);
  return BioText(b);
}

// The first certificate problem the handshake's verification met.
struct VerifyFailure {
  int error = X509_V_OK;
  std::string subject, issuer, not_before, not_after;
};

int RecordFirstFailure(int ok, X509_STORE_CTX* ctx) {
  if (ok) return ok;
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* f = ssl ? static_cast<VerifyFailure*>(SSL_get_app_data(ssl)) : nullptr;
  if (f != nullptr && f->error == X509_V_OK) {
    f->error = X509_STORE_CTX_get_error(ctx);
    if (X509* c = X509_STORE_CTX_get_current_cert(ctx)) {
      f->subject = NameText(X509_get_subject_name(c));
      f->issuer = NameText(X509_get_issuer_name(c));
      f->not_before = TimeText(X509_get0_notBefore(c));
      f->not_after = TimeText(X509_get0_notAfter(c));
    }
  }
  return 0;
}

void AddCertificates(SSL_CTX* ctx, const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, x);
    X509_free(x);
  }
  BIO_free(b);
  ERR_clear_error();  // the end of the PEM text reads as an error
}

void UseClientCertificate(SSL_CTX* ctx, const std::string& cert_pem, const std::string& key_pem) {
  BIO* b = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  if (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {
    SSL_CTX_use_certificate(ctx, x);
    X509_free(x);
  }
  BIO_free(b);
  b = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  if (EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr)) {
    SSL_CTX_use_PrivateKey(ctx, k);
    EVP_PKEY_free(k);
  }
  BIO_free(b);
  ERR_clear_error();
}

// Blocks SIGPIPE in this thread for its lifetime: OpenSSL writes to the socket
// with write(), and a server that hangs up mid-handshake (the very failures
// diagnosed here) would otherwise kill the process. A SIGPIPE raised meanwhile
// is consumed before the old mask returns.
class NoSigpipe {
 public:
  NoSigpipe() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~NoSigpipe() {
    if (sigismember(&old_, SIGPIPE)) return;  // blocked before: leave it pending as it was
    const timespec zero{};
    while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  NoSigpipe(const NoSigpipe&) = delete;
  NoSigpipe& operator=(const NoSigpipe&) = delete;

 private:
  sigset_t pipe_, old_;
};

struct Attempt {
  bool connected = false;   // TCP
  bool handshake = false;   // TLS handshake completed (client side)
  bool answered = false;    // the server sent application data after it
  bool hung_up = false;     // ... or closed the connection instead (not a timeout)
  bool cert_requested = false;  // the server asked for a client certificate
  unsigned long error = 0;  // OpenSSL's first error (an alert the server sent, ...)
  VerifyFailure verify;
};

// One handshake the way gRPC makes it (ALPN h2, the same trust and host
// checks), then the HTTP/2 preface: in TLS 1.3 the server judges a client
// certificate after the client's side of the handshake is done, and its
// verdict (an alert, or its SETTINGS frame) is the first thing read.
Attempt Try(const HostPort& hp, const TlsClientSettings& s, bool verify, std::chrono::milliseconds timeout) {
  Attempt a;
  NoSigpipe no_sigpipe;
  const int fd = Connect(hp, timeout);
  if (fd < 0) return a;
  a.connected = true;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) {
    close(fd);
    return a;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof(kAlpn));
  if (verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, RecordFirstFailure);
    if (s.ca_pem.empty()) SSL_CTX_set_default_verify_paths(ctx.get());
    else AddCertificates(ctx.get(), s.ca_pem);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (!s.cert_pem.empty()) UseClientCertificate(ctx.get(), s.cert_pem, s.key_pem);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  if (!ssl) {
    close(fd);
    return a;
  }
  SSL_set_fd(ssl.get(), fd);
  SSL_set_app_data(ssl.get(), &a.verify);
  SSL_set_msg_callback_arg(ssl.get(), &a.cert_requested);
  SSL_set_msg_callback(ssl.get(), [](int write_p, int, int content_type, const void* buf, size_t len, SSL*,
                                     void* arg) {
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
        static_cast<const unsigned char*>(buf)[0] == SSL3_MT_CERTIFICATE_REQUEST) {
      *static_cast<bool*>(arg) = true;
    }
  });
  if (IsIpAddress(hp.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), hp.host.c_str());
  } else {
    SSL_set1_host(ssl.get(), hp.host.c_str());
    SSL_set_tlsext_host_name(ssl.get(), hp.host.c_str());
  }
  ERR_clear_error();
  if (SSL_connect(ssl.get()) == 1) {
    a.handshake = true;
    static const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";
    SSL_write(ssl.get(), kPreface, sizeof(kPreface) - 1);
    char buf[64];
    errno = 0;
    const int n = SSL_read(ssl.get(), buf, sizeof(buf));
    a.answered = n > 0;
    const int why = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl.get(), n);
    a.hung_up = why == SSL_ERROR_ZERO_RETURN ||
                ((why == SSL_ERROR_SSL || why == SSL_ERROR_SYSCALL) && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  a.error = ERR_peek_error();
  ERR_clear_error();
  SSL_shutdown(ssl.get());
  close(fd);
  return a;
}

bool IsAlert(unsigned long error) {
  const int reason = ERR_GET_REASON(error);
  return reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256;
}

std::string ServerCertificateProblem(const VerifyFailure& f, const HostPort& hp) {
  switch (f.error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "the coordinator's certificate (" + f.subject + ") expired on " + f.not_after +
             ": renew it and restart the coordinator (docs/deployment.md, Certificates)";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "the coordinator's certificate (" + f.subject + ") is not valid before " + f.not_before +
             ": check the clocks of this machine and the coordinator's";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "the coordinator's certificate (issued by " + f.issuer +
             ") is not signed by a CA this client trusts: pass the CA certificate that signed it "
             "with --tls-ca (the file given is the wrong CA)";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "the coordinator's certificate (" + f.subject + ") is not for " + hp.host +
             ": dial a name in its subjectAltName, or reissue it with subjectAltName=" +
             (IsIpAddress(hp.host) ? "IP:" : "DNS:") + hp.host;
    default:
      return std::string("the coordinator's certificate failed verification: ") +
             X509_verify_cert_error_string(f.error);
  }
}

// `error` is the alert the server sent, or 0 when it just hung up.
std::string ClientCertificateProblem(unsigned long error, bool sent_certificate) {
  const int reason = ERR_GET_REASON(error);
  if (!sent_certificate || reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
    return "the coordinator requires a client certificate (mutual TLS): pass --tls-cert CERT.pem and "
           "--tls-key KEY.pem, signed by the CA in its --tls-client-ca";
  }
  const char* why = error != 0 && IsAlert(error) ? ERR_reason_error_string(error) : nullptr;
  return std::string("the coordinator refused this client certificate (") +
         (why ? why : "it closed the connection") +
         "): use one signed by the CA in its --tls-client-ca that has not expired";
}

}  // namespace

std::string DiagnoseTls(const TlsClientSettings& s, std::chrono::milliseconds timeout) {
  HostPort hp;
  if (!Split(s.target, &hp)) return "";
  if (!s.tls) {
    const Attempt a = Try(hp, s, /*verify=*/false, timeout);
    if (!a.handshake) return "";
    return "the coordinator's port speaks TLS but this client connects in plaintext: pass --tls-ca CA.pem "
           "(the CA that signed the coordinator's certificate; or LCSWEEP_TLS_CA)";
  }
  const Attempt a = Try(hp, s, /*verify=*/true, timeout);
  if (!a.connected) return "";
  if (a.verify.error != X509_V_OK) return ServerCertificateProblem(a.verify, hp);
  if (a.handshake && a.answered) return "";
  // A server that asked for a client certificate and then refused the
  // connection judged the certificate (TLS 1.3 sends that verdict after the
  // handshake; gRPC hangs up without an alert).
  if (IsAlert(a.error) || (a.handshake && a.hung_up && a.cert_requested)) {
    return ClientCertificateProblem(a.error, !s.cert_pem.empty());
  }
  if (a.handshake) return "";
  return "the coordinator's port does not speak TLS: drop --tls-ca (and LCSWEEP_TLS_CA) to connect in "
         "plaintext, or start the coordinator with --tls-cert and --tls-key";
}

}  // namespace lcsweep
