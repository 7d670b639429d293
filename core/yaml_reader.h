#pragma once

// Reading a yaml-cpp node tree with errors that point at the offending line:
// the typed accessors config_yaml.cc builds the config model with. Every
// error message starts with "file:line:column: ". Main thread only; nothing
// here throws (yaml-cpp is only asked for marks, scalars and iteration).

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace gourmet::core {

// One key of a checked map. `key_node` is kept for positions.
struct YamlEntry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

// A map whose keys are known good: scalars, unique, and all allowed.
// Entries are in file order.
struct YamlMap {
  YAML::Node node;
  std::vector<YamlEntry> entries;

  const YamlEntry* find(std::string_view key) const;
};

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  // 1-based position of a node (line 0 for a node without a mark).
  SourcePos pos(const YAML::Node& node) const;
  // Where to point at an entry's value. A null value's mark is the next
  // token, often on another line, so the key stands in for it.
  SourcePos pos(const YamlEntry& entry) const;

  tl::unexpected<Error> error(const SourcePos& at, std::string_view message) const;

  // `what` names the map in messages ("server", "upstream 'backend'").
  Result<YamlMap> map(const YAML::Node& node, std::string_view what,
                      std::span<const std::string_view> allowed) const;
  Result<YamlMap> map(const YamlEntry& entry, std::string_view what,
                      std::span<const std::string_view> allowed) const;
  // A map whose keys are names chosen by the operator (upstreams).
  Result<YamlMap> mapOfNames(const YamlEntry& entry, std::string_view what) const;
  // The entry for `key` or for its `alias`; an error if both are present.
  Result<const YamlEntry*> findEither(const YamlMap& map, std::string_view what,
                                      std::string_view key, std::string_view alias) const;

  // Setters: on success store the entry's value in `out`; on error leave it.
  // A string is a scalar's text as written (`upstream: 1` is "1").
  Result<void> setString(const YamlEntry& entry, std::string& out) const;
  // YAML 1.2's booleans only: true/True/TRUE, false/False/FALSE (not yes/no).
  Result<void> setBool(const YamlEntry& entry, bool& out) const;
  Result<void> setDuration(const YamlEntry& entry, Millis& out) const;
  // Bytes: an integer, or an integer with k/K/KiB, m/M/MiB or g/G/GiB (binary:
  // x1024), in [min, max].
  Result<void> setSize(const YamlEntry& entry, uint64_t min, uint64_t max, uint64_t& out) const;
  // A duration above zero (a time constant, a default estimate).
  Result<void> setPositiveDuration(const YamlEntry& entry, Millis& out) const;
  // A finite number as from_chars reads it ("2", "0.5", "1e-3"; not "inf"),
  // in [min, max]; `max` may be infinity.
  Result<void> setNumber(const YamlEntry& entry, double min, double max, double& out) const;
  // A finite number above zero.
  Result<void> setPositiveNumber(const YamlEntry& entry, double& out) const;
  template <class T>
  Result<void> setInteger(const YamlEntry& entry, int64_t min, int64_t max, T& out) const {
    auto value = integer(entry, min, max);
    if (!value) return tl::unexpected(value.error());
    out = static_cast<T>(*value);
    return {};
  }
  Result<void> expectSequence(const YamlEntry& entry) const;

 private:
  Result<int64_t> integer(const YamlEntry& entry, int64_t min, int64_t max) const;
  Result<double> number(const YamlEntry& entry) const;
  // `allowed` null: any key. `at` is where a wrong type is reported.
  Result<YamlMap> readMap(const YAML::Node& node, const SourcePos& at, std::string_view what,
                          const std::span<const std::string_view>* allowed) const;

  std::string file_;
};

// The shortest exact spelling that setSize reads back: "8KiB", "10MiB",
// "1GiB", or plain bytes ("1000").
std::string formatSize(uint64_t bytes);

// "a map", "a sequence", "null", "a string": for "got ..." in messages.
std::string_view describeKind(const YAML::Node& node);

}  // namespace gourmet::core
