#pragma once

// A line chart as a self-contained SVG document: no fonts, scripts or
// images to fetch, no library, so the simulator's plot can be committed and
// viewed in any browser or on GitHub.

#include <string>
#include <vector>

namespace gourmet::lbsim {

struct Series {
  std::string name;
  std::vector<double> y;  // one value per x; values <= 0 are left out
};

struct Chart {
  std::string title;
  std::string subtitle;
  std::string x_label;
  std::string y_label;
  std::vector<double> x;
  std::vector<Series> series;
};

// The y axis is logarithmic (decades), since the algorithms' p99 differ by
// orders of magnitude once a server is overloaded.
std::string renderSvg(const Chart& chart);

}  // namespace gourmet::lbsim
