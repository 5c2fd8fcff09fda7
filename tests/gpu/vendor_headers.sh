#!/usr/bin/env bash
# Copies the header-only dependencies of lcsweep-train (nlohmann_json, spdlog,
# fmt) from this Debian machine into DIR (default ./gpu-deps), with minimal
# CMake package files, for a GPU box that has LibTorch (inside PyTorch) but no
# package registry. run_gpu_check.sh picks DIR up through DEPS_PREFIX.
set -euo pipefail
dir="${1:-gpu-deps}"
rm -rf "$dir"
mkdir -p "$dir/include" "$dir/lib/cmake/nlohmann_json" "$dir/lib/cmake/spdlog"
cp -r /usr/include/nlohmann /usr/include/spdlog /usr/include/fmt "$dir/include/"
cat > "$dir/lib/cmake/nlohmann_json/nlohmann_jsonConfig.cmake" <<'CMAKE'
set(nlohmann_json_VERSION 3.11.2)
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/../../../include")
CMAKE
cat > "$dir/lib/cmake/nlohmann_json/nlohmann_jsonConfigVersion.cmake" <<'CMAKE'
set(PACKAGE_VERSION 3.11.2)
set(PACKAGE_VERSION_COMPATIBLE TRUE)
CMAKE
# Debian's spdlog expects an external fmt; use fmt header-only.
cat > "$dir/lib/cmake/spdlog/spdlogConfig.cmake" <<'CMAKE'
set(spdlog_VERSION 1.10.0)
foreach(t spdlog::spdlog spdlog::spdlog_header_only)
  add_library(${t} INTERFACE IMPORTED)
  set_target_properties(${t} PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/../../../include"
    INTERFACE_COMPILE_DEFINITIONS "SPDLOG_HEADER_ONLY;SPDLOG_FMT_EXTERNAL;FMT_HEADER_ONLY")
endforeach()
CMAKE
echo "vendored headers in $dir"
