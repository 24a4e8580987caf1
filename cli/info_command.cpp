// kiln info: what this build can do and what it runs on.
#include <fmt/core.h>
#include <spdlog/version.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "core/device.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace kiln::cli {

void add_info_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("info", "Build options, devices and library versions");
  cmd->callback([] {
    fmt::print("kiln {}\n", KILN_VERSION);
    fmt::print("compiler: {}\n", __VERSION__);
    fmt::print("CUDA backend: {}\n",
               cuda_compiled() ? "compiled in" : "not compiled (CPU-only build)");
    fmt::print("CUDA devices visible: {}\n", cuda_device_count());
#ifdef _OPENMP
    fmt::print("OpenMP threads: {}\n", omp_get_max_threads());
#endif
    fmt::print("hardware threads: {}\n", std::thread::hardware_concurrency());
    fmt::print("fmt {}.{}.{}, spdlog {}.{}.{}, nlohmann_json {}.{}.{}\n", FMT_VERSION / 10000,
               FMT_VERSION / 100 % 100, FMT_VERSION % 100, SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR,
               SPDLOG_VER_PATCH, NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
               NLOHMANN_JSON_VERSION_PATCH);
  });
}

}  // namespace kiln::cli
