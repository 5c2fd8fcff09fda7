// Helpers that write small files in the exact published formats (and broken
// variants) into a per-test temporary folder.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace lcsweep::data::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/lcsweep_data_test_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void WriteGz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

inline void PutBe32(std::string* s, uint32_t v) {
  s->push_back(static_cast<char>(v >> 24));
  s->push_back(static_cast<char>(v >> 16));
  s->push_back(static_cast<char>(v >> 8));
  s->push_back(static_cast<char>(v));
}

// Pixel value of a test image, a function of (image, position) so the
// readers' layout handling can be checked exactly.
inline uint8_t TestPixel(int64_t n, int64_t c, int64_t y, int64_t x) {
  return static_cast<uint8_t>((n * 7 + c * 50 + y * 3 + x * 5) & 0xFF);
}

inline std::string IdxImages(int64_t n, int64_t h, int64_t w, uint32_t magic = 0x803) {
  std::string s;
  PutBe32(&s, magic);
  PutBe32(&s, static_cast<uint32_t>(n));
  PutBe32(&s, static_cast<uint32_t>(h));
  PutBe32(&s, static_cast<uint32_t>(w));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) s.push_back(static_cast<char>(TestPixel(i, 0, y, x)));
  return s;
}

inline std::string IdxLabels(const std::vector<uint8_t>& labels, uint32_t magic = 0x801) {
  std::string s;
  PutBe32(&s, magic);
  PutBe32(&s, static_cast<uint32_t>(labels.size()));
  for (uint8_t l : labels) s.push_back(static_cast<char>(l));
  return s;
}

// CIFAR records: label byte(s) then R, G, B planes of 32x32.
inline std::string CifarRecords(int64_t n, int label_bytes, const std::vector<uint8_t>& labels_flat) {
  std::string s;
  for (int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < label_bytes; ++k) s.push_back(static_cast<char>(labels_flat[i * label_bytes + k]));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) s.push_back(static_cast<char>(TestPixel(i, c, y, x)));
  }
  return s;
}

// ---- MATLAB level-5 writer (what scipy.io.savemat / MATLAB -v7 produce) ----
inline void PutLe32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
}
inline void PadTo8(std::string* s) {
  while (s->size() % 8) s->push_back('\0');
}
inline std::string MatElement(uint32_t type, const std::string& data) {
  std::string s;
  PutLe32(&s, type);
  PutLe32(&s, static_cast<uint32_t>(data.size()));
  s += data;
  PadTo8(&s);
  return s;
}
// A numeric matrix element (miMATRIX). class_id: 6 double, 9 uint8.
inline std::string MatMatrix(const std::string& name, const std::vector<int32_t>& dims, uint8_t class_id,
                             uint32_t data_type, const std::string& data) {
  std::string body;
  std::string flags;
  PutLe32(&flags, class_id);
  PutLe32(&flags, 0);
  body += MatElement(6 /*miUINT32*/, flags);
  std::string d;
  for (int32_t v : dims) PutLe32(&d, static_cast<uint32_t>(v));
  body += MatElement(5 /*miINT32*/, d);
  if (name.size() <= 4) {  // small data element format, as MATLAB writes short names
    std::string small;
    PutLe32(&small, (static_cast<uint32_t>(name.size()) << 16) | 1 /*miINT8*/);
    small += name;
    while (small.size() < 8) small.push_back('\0');
    body += small;
  } else {
    body += MatElement(1, name);
  }
  body += MatElement(data_type, data);
  std::string s;
  PutLe32(&s, 14 /*miMATRIX*/);
  PutLe32(&s, static_cast<uint32_t>(body.size()));
  return s + body;
}
inline std::string MatCompressed(const std::string& element) {
  uLongf n = compressBound(element.size());
  std::string out(n, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(element.data()),
            element.size(), 6);
  out.resize(n);
  std::string s;
  PutLe32(&s, 15 /*miCOMPRESSED*/);
  PutLe32(&s, static_cast<uint32_t>(out.size()));
  return s + out;
}
inline std::string MatHeader() {
  std::string h = "MATLAB 5.0 MAT-file, written by lcsweep tests";
  h.resize(116, ' ');
  h += std::string(8, '\0');                 // subsystem data offset
  h += std::string("\x00\x01", 2);          // version 0x0100 (little-endian)
  h += "IM";
  return h;
}
// SVHN-like file: X uint8 32x32x3xN (column-major, value TestPixel(n,c,h,w)), y double Nx1.
inline std::string SvhnMat(const std::vector<double>& labels, bool compressed) {
  const int64_t n = static_cast<int64_t>(labels.size());
  std::string x(static_cast<size_t>(n * 3072), '\0');
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      for (int w = 0; w < 32; ++w)
        for (int h = 0; h < 32; ++h) x[h + 32 * (w + 32 * (c + 3 * i))] = static_cast<char>(TestPixel(i, c, h, w));
  std::string y(reinterpret_cast<const char*>(labels.data()), labels.size() * sizeof(double));
  std::string ex = MatMatrix("X", {32, 32, 3, static_cast<int32_t>(n)}, 9, 2 /*miUINT8*/, x);
  std::string ey = MatMatrix("y", {static_cast<int32_t>(n), 1}, 6, 9 /*miDOUBLE*/, y);
  return MatHeader() + (compressed ? MatCompressed(ex) + MatCompressed(ey) : ex + ey);
}

}  // namespace lcsweep::data::testing
