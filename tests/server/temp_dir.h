// A temporary directory for tests, removed with its contents at scope exit.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace lcsweep::testing {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "lcsweep-test-XXXXXX").string();
    char* p = mkdtemp(templ.data());
    path_ = p != nullptr ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace lcsweep::testing
