#include "worker/eval/npy.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lcsweep::eval {
namespace {

std::string Shorten(const std::string& s) { return s.size() > 120 ? s.substr(0, 120) + "..." : s; }

// Finds the value text after 'key': in the header dict.
bool FindValue(const std::string& dict, const std::string& key, std::string* value) {
  for (const char* quote : {"'", "\""}) {
    const std::string k = std::string(quote) + key + quote;
    size_t pos = dict.find(k);
    if (pos == std::string::npos) continue;
    pos = dict.find(':', pos + k.size());
    if (pos == std::string::npos) return false;
    ++pos;
    while (pos < dict.size() && std::isspace(static_cast<unsigned char>(dict[pos]))) ++pos;
    size_t end = pos;
    if (pos < dict.size() && (dict[pos] == '\'' || dict[pos] == '"')) {
      end = dict.find(dict[pos], pos + 1);
      if (end == std::string::npos) return false;
      *value = dict.substr(pos + 1, end - pos - 1);
    } else if (pos < dict.size() && dict[pos] == '(') {
      end = dict.find(')', pos);
      if (end == std::string::npos) return false;
      *value = dict.substr(pos, end - pos + 1);
    } else {
      while (end < dict.size() && dict[end] != ',' && dict[end] != '}') ++end;
      *value = dict.substr(pos, end - pos);
      while (!value->empty() && std::isspace(static_cast<unsigned char>(value->back()))) value->pop_back();
    }
    return true;
  }
  return false;
}

int64_t ItemSize(const std::string& descr) {
  static const char* k1[] = {"|u1", "|i1", "|b1", "<u1", "<i1"};
  for (const char* d : k1) if (descr == d) return 1;
  if (descr == "<u2" || descr == "<i2") return 2;
  if (descr == "<u4" || descr == "<i4") return 4;
  if (descr == "<u8" || descr == "<i8") return 8;
  return 0;
}

}  // namespace

StatusOr<NpyHeader> ReadNpyHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open .npy file (missing or unreadable)");
  char magic[8];
  if (!in.read(magic, 8)) return DataLossError(path + ": truncated .npy file: fewer than 8 header bytes");
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return InvalidArgumentError(path + ": not a .npy file: expected magic \\x93NUMPY at offset 0");
  NpyHeader h;
  h.major_version = static_cast<unsigned char>(magic[6]);
  int64_t header_len = 0, prefix = 0;
  if (h.major_version == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) return DataLossError(path + ": truncated .npy header length");
    header_len = b[0] | (b[1] << 8);
    prefix = 10;
  } else if (h.major_version == 2 || h.major_version == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) return DataLossError(path + ": truncated .npy header length");
    header_len = int64_t{b[0]} | (int64_t{b[1]} << 8) | (int64_t{b[2]} << 16) | (int64_t{b[3]} << 24);
    prefix = 12;
  } else {
    return InvalidArgumentError(path + ": unsupported .npy format version " + std::to_string(h.major_version) +
                                " (expected 1, 2 or 3)");
  }
  std::string dict(static_cast<size_t>(header_len), '\0');
  if (!in.read(dict.data(), header_len))
    return DataLossError(path + ": truncated .npy header: expected " + std::to_string(header_len) + " bytes");
  h.data_offset = prefix + header_len;
  std::string descr, fortran, shape;
  if (!FindValue(dict, "descr", &descr) || !FindValue(dict, "fortran_order", &fortran) ||
      !FindValue(dict, "shape", &shape))
    return InvalidArgumentError(path + ": malformed .npy header (need 'descr', 'fortran_order', 'shape'): " +
                                Shorten(dict));
  h.descr = descr;
  h.item_size = ItemSize(descr);
  if (h.item_size == 0)
    return InvalidArgumentError(path + ": unsupported dtype '" + descr +
                                "' (expected a little-endian integer type such as |u1 or <i8)");
  if (fortran == "True") return InvalidArgumentError(path + ": Fortran-order arrays are not supported (expected C order)");
  if (fortran != "False") return InvalidArgumentError(path + ": malformed fortran_order value '" + fortran + "'");
  // shape: "(a, b, c)" or "(a,)" or "()".
  std::string inner = shape.substr(1, shape.size() - 2);
  std::stringstream ss(inner);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \tL");
    if (b == std::string::npos) continue;
    std::string num = item.substr(b, e - b + 1);
    for (char c : num)
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return InvalidArgumentError(path + ": malformed shape " + shape + " in .npy header");
    h.shape.push_back(std::stoll(num));
  }
  return h;
}

StatusOr<torch::Tensor> ReadNpyRows(const std::string& path, int64_t start, int64_t count) {
  LCSWEEP_ASSIGN_OR_RETURN(NpyHeader h, ReadNpyHeader(path));
  if (h.shape.empty()) return InvalidArgumentError(path + ": a 0-d array has no rows");
  int64_t row_elems = 1;
  for (size_t i = 1; i < h.shape.size(); ++i) row_elems *= h.shape[i];
  const int64_t rows = h.shape[0];
  if (start < 0 || count < 0 || start + count > rows)
    return OutOfRangeError(path + ": rows [" + std::to_string(start) + ", " + std::to_string(start + count) +
                           ") requested but the array has " + std::to_string(rows) + " rows");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const int64_t file_size = static_cast<int64_t>(in.tellg());
  const int64_t need = h.data_offset + rows * row_elems * h.item_size;
  if (file_size < need)
    return DataLossError(path + ": truncated .npy file: header promises shape with " + std::to_string(need) +
                         " bytes in all, file has " + std::to_string(file_size));
  torch::Dtype dtype;
  switch (h.item_size) {
    case 1: dtype = h.descr[1] == 'i' ? torch::kInt8 : torch::kUInt8; break;
    case 2: dtype = torch::kInt16; break;
    case 4: dtype = torch::kInt32; break;
    default: dtype = torch::kInt64; break;
  }
  std::vector<int64_t> shape = h.shape;
  shape[0] = count;
  torch::Tensor t = torch::empty(shape, dtype);
  in.seekg(h.data_offset + start * row_elems * h.item_size);
  if (!in.read(static_cast<char*>(t.data_ptr()), count * row_elems * h.item_size))
    return DataLossError(path + ": read failed inside the data section");
  // Unsigned wider types: reinterpret the bits and widen to int64 (labels only in practice).
  if (h.descr == "<u2") t = t.to(torch::kInt64).bitwise_and(static_cast<int64_t>(0xFFFF));
  if (h.descr == "<u4") t = t.to(torch::kInt64).bitwise_and(static_cast<int64_t>(0xFFFFFFFF));
  return t;
}

Status WriteNpy(const std::string& path, const torch::Tensor& tensor) {
  torch::Tensor t = tensor.contiguous().cpu();
  std::string descr;
  if (t.scalar_type() == torch::kUInt8) descr = "|u1";
  else if (t.scalar_type() == torch::kInt64) descr = "<i8";
  else if (t.scalar_type() == torch::kFloat32) descr = "<f4";
  else return InvalidArgumentError("WriteNpy(" + path + "): only uint8, int64 and float32 tensors are supported");
  std::string shape = "(";
  for (int64_t d : t.sizes()) shape += std::to_string(d) + ", ";
  if (t.dim() == 1) shape.pop_back();
  else if (t.dim() > 1) shape.erase(shape.size() - 2);
  shape += ")";
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = 10 + dict.size() + 1;
  dict += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::ofstream out(path, std::ios::binary);
  if (!out) return InternalError(path + ": cannot create file");
  const uint16_t len = static_cast<uint16_t>(dict.size());
  out.write("\x93NUMPY\x01\x00", 8);
  const char lb[2] = {static_cast<char>(len & 0xFF), static_cast<char>(len >> 8)};
  out.write(lb, 2);
  out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
  out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  if (!out) return InternalError(path + ": write failed");
  return OkStatus();
}

}  // namespace lcsweep::eval
