#include "tools/lbsim/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gourmet::lbsim {
namespace {

constexpr double kWidth = 860, kHeight = 520;
constexpr double kLeft = 80, kRight = 190, kTop = 60, kBottom = 60;

// Distinguishable on white and for the common colour-vision deficiencies
// (Okabe and Ito's palette, plus black).
constexpr const char* kColours[] = {"#000000", "#E69F00", "#56B4E9", "#009E73",
                                    "#D55E00", "#0072B2", "#CC79A7", "#999999"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string number(double value, int decimals) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string decadeLabel(int exponent) {
  if (exponent >= 0) return number(std::pow(10.0, exponent), 0);
  return number(std::pow(10.0, exponent), -exponent);
}

}  // namespace

std::string renderSvg(const Chart& chart) {
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  double x_min = chart.x.empty() ? 0 : chart.x.front(), x_max = x_min;
  for (double x : chart.x) {
    x_min = std::min(x_min, x);
    x_max = std::max(x_max, x);
  }
  if (x_max <= x_min) x_max = x_min + 1;
  double y_low = INFINITY, y_high = -INFINITY;
  for (const Series& series : chart.series) {
    for (double y : series.y) {
      if (y <= 0) continue;
      y_low = std::min(y_low, y);
      y_high = std::max(y_high, y);
    }
  }
  if (!std::isfinite(y_low)) y_low = y_high = 1;
  const int decade_low = static_cast<int>(std::floor(std::log10(y_low)));
  int decade_high = static_cast<int>(std::ceil(std::log10(y_high)));
  if (decade_high <= decade_low) decade_high = decade_low + 1;
  auto px = [&](double x) { return kLeft + (x - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double y) {
    return kTop + plot_h - (std::log10(y) - decade_low) / (decade_high - decade_low) * plot_h;
  };

  std::string svg;
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(kWidth, 0) + "\" height=\"" +
         number(kHeight, 0) + "\" viewBox=\"0 0 " + number(kWidth, 0) + " " + number(kHeight, 0) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + number(kLeft, 0) + "\" y=\"24\" font-size=\"16\" font-weight=\"bold\">" +
         escape(chart.title) + "</text>\n";
  svg += "<text x=\"" + number(kLeft, 0) + "\" y=\"42\" fill=\"#444\">" + escape(chart.subtitle) +
         "</text>\n";

  // Grid and y ticks: every decade labelled, 2..9 as faint lines.
  for (int d = decade_low; d <= decade_high; ++d) {
    double y = py(std::pow(10.0, d));
    svg += "<line x1=\"" + number(kLeft, 1) + "\" y1=\"" + number(y, 1) + "\" x2=\"" +
           number(kLeft + plot_w, 1) + "\" y2=\"" + number(y, 1) + "\" stroke=\"#bbb\"/>\n";
    svg += "<text x=\"" + number(kLeft - 8, 1) + "\" y=\"" + number(y + 4, 1) +
           "\" text-anchor=\"end\">" + decadeLabel(d) + "</text>\n";
    if (d == decade_high) break;
    for (int m = 2; m <= 9; ++m) {
      double ym = py(m * std::pow(10.0, d));
      svg += "<line x1=\"" + number(kLeft, 1) + "\" y1=\"" + number(ym, 1) + "\" x2=\"" +
             number(kLeft + plot_w, 1) + "\" y2=\"" + number(ym, 1) + "\" stroke=\"#eee\"/>\n";
    }
  }
  for (double x : chart.x) {
    svg += "<line x1=\"" + number(px(x), 1) + "\" y1=\"" + number(kTop, 1) + "\" x2=\"" +
           number(px(x), 1) + "\" y2=\"" + number(kTop + plot_h, 1) + "\" stroke=\"#eee\"/>\n";
    svg += "<text x=\"" + number(px(x), 1) + "\" y=\"" + number(kTop + plot_h + 18, 1) +
           "\" text-anchor=\"middle\">" + number(x, 2) + "</text>\n";
  }
  svg += "<rect x=\"" + number(kLeft, 1) + "\" y=\"" + number(kTop, 1) + "\" width=\"" +
         number(plot_w, 1) + "\" height=\"" + number(plot_h, 1) +
         "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg += "<text x=\"" + number(kLeft + plot_w / 2, 1) + "\" y=\"" + number(kHeight - 16, 1) +
         "\" text-anchor=\"middle\">" + escape(chart.x_label) + "</text>\n";
  svg += "<text transform=\"translate(20 " + number(kTop + plot_h / 2, 1) +
         ") rotate(-90)\" text-anchor=\"middle\">" + escape(chart.y_label) + "</text>\n";

  // One polyline with point markers per series, legend on the right.
  for (size_t s = 0; s < chart.series.size(); ++s) {
    const Series& series = chart.series[s];
    const std::string colour = kColours[s % std::size(kColours)];
    std::string points;
    std::string markers;
    for (size_t i = 0; i < series.y.size() && i < chart.x.size(); ++i) {
      if (series.y[i] <= 0) continue;
      std::string x = number(px(chart.x[i]), 1), y = number(py(series.y[i]), 1);
      points += x + "," + y + " ";
      markers += "<circle cx=\"" + x + "\" cy=\"" + y + "\" r=\"3\" fill=\"" + colour + "\"/>";
    }
    svg += "<g><title>" + escape(series.name) + "</title><polyline fill=\"none\" stroke=\"" +
           colour + "\" stroke-width=\"2\" points=\"" + points + "\"/>" + markers + "</g>\n";
    double ly = kTop + 10 + 20 * static_cast<double>(s);
    double lx = kLeft + plot_w + 16;
    svg += "<line x1=\"" + number(lx, 1) + "\" y1=\"" + number(ly, 1) + "\" x2=\"" +
           number(lx + 24, 1) + "\" y2=\"" + number(ly, 1) + "\" stroke=\"" + colour +
           "\" stroke-width=\"2\"/>";
    svg += "<text x=\"" + number(lx + 30, 1) + "\" y=\"" + number(ly + 4, 1) + "\">" +
           escape(series.name) + "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace gourmet::lbsim
