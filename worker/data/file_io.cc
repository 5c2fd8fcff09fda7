#include "worker/data/file_io.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#ifdef LCSWEEP_HAVE_ZLIB
#include <zlib.h>
#endif

namespace lcsweep::data {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

static bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

StatusOr<std::string> ReadFileBytes(const std::string& path) {
  if (!FileExists(path)) {
    return NotFoundError(path + ": no such file (check data.root)");
  }
  if (EndsWith(path, ".gz")) {
#ifdef LCSWEEP_HAVE_ZLIB
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) return DataLossError(path + ": cannot open: " + std::strerror(errno));
    gzbuffer(f, 1 << 20);
    std::string out;
    std::string chunk(1 << 20, '\0');
    while (true) {
      const int n = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
      if (n < 0) {
        int err = 0;
        std::string msg = gzerror(f, &err);
        gzclose(f);
        return DataLossError(path + ": corrupt gzip stream: " + msg);
      }
      if (n == 0) break;
      out.append(chunk.data(), static_cast<size_t>(n));
    }
    int err = 0;
    const char* msg = gzerror(f, &err);
    std::string emsg = msg ? msg : "";
    gzclose(f);
    if (err != Z_OK && err != Z_STREAM_END) {
      return DataLossError(path + ": corrupt or truncated gzip stream: " + emsg);
    }
    return out;
#else
    return UnimplementedError(path + ": built without zlib; gunzip the file first");
#endif
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return DataLossError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return DataLossError(path + ": read error");
  return ss.str();
}

StatusOr<std::string> InflateZlib(const std::string& compressed, const std::string& what) {
#ifdef LCSWEEP_HAVE_ZLIB
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit(&zs) != Z_OK) return InternalError("inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  std::string chunk(1 << 20, '\0');
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return DataLossError(what + ": corrupt zlib stream (" + (zs.msg ? zs.msg : "truncated") + ")");
    }
    out.append(chunk.data(), chunk.size() - zs.avail_out);
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return DataLossError(what + ": truncated zlib stream");
    }
  }
  inflateEnd(&zs);
  return out;
#else
  (void)compressed;
  return UnimplementedError(what + ": compressed data needs zlib, which this build lacks");
#endif
}

}  // namespace lcsweep::data
