// Input filters in front of a served model, and their registry entry.
#include "attack/serving_attacks.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "model/model_io.h"

namespace ds {
namespace {

// JPEG's transform and quantisation on each channel as if it were luminance: level shift, 8x8
// orthonormal DCT of edge-padded blocks, rounding to the quality's steps, and back.
const char* const kJpegSource = R"(    n, c, h, w = x.size(0), x.size(1), x.size(2), x.size(3)
    ph, pw = (8 - h % 8) % 8, (8 - w % 8) % 8
    xp = torch.replication_pad2d(x * 255.0 - 128.0, [0, pw, 0, ph])
    hb, wb = (h + ph) // 8, (w + pw) // 8
    blocks = xp.reshape([n, c, hb, 8, wb, 8]).permute([0, 1, 2, 4, 3, 5])
    coef = torch.matmul(torch.matmul(self.jpeg_dct, blocks), torch.t(self.jpeg_dct))
    coef = torch.round(coef / self.jpeg_steps) * self.jpeg_steps
    back = torch.matmul(torch.matmul(torch.t(self.jpeg_dct), coef), self.jpeg_dct)
    out = back.permute([0, 1, 2, 4, 3, 5]).reshape([n, c, hb * 8, wb * 8])
    out = torch.narrow(torch.narrow(out, 2, 0, h), 3, 0, w)
    return torch.clamp((out + 128.0) / 255.0, 0.0, 1.0)
)";

// The IJG luminance table scaled to `quality` (libjpeg's formula), and the 8x8 DCT-II matrix.
void register_jpeg_tables(torch::jit::Module& m, int64_t quality) {
  static const int base[64] = {16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
                               14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
                               18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
                               49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
  int64_t scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  torch::Tensor steps = torch::empty({8, 8}, torch::kFloat32);
  torch::Tensor dct = torch::empty({8, 8}, torch::kFloat32);
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) {
      steps[i][j] = float(std::clamp<int64_t>((base[i * 8 + j] * scale + 50) / 100, 1, 255));
      double a = i == 0 ? std::sqrt(1.0 / 8) : std::sqrt(2.0 / 8);
      dct[i][j] = float(a * std::cos((2 * j + 1) * i * M_PI / 16));
    }
  }
  m.register_buffer("jpeg_steps", steps);
  m.register_buffer("jpeg_dct", dct);
}

// The Gaussian blur's kernel radius: 3 sigma, rounded up.
int64_t blur_radius(double sigma) { return int64_t(std::ceil(3.0 * sigma)); }

// The Gaussian blur's kernel, normalised, as a 1 x 1 x k x k buffer; k = 2 radius + 1.
void register_blur_kernel(torch::jit::Module& m, double sigma) {
  const int64_t r = blur_radius(sigma), k = 2 * r + 1;
  torch::Tensor t = torch::arange(-r, r + 1, torch::kFloat64);
  torch::Tensor g = (-(t * t) / (2.0 * sigma * sigma)).exp();
  g = g / g.sum();
  m.register_buffer("blur_kernel", torch::outer(g, g).to(torch::kFloat32).reshape({1, 1, k, k}));
}

// The filter as TorchScript: the body of `pre(self, x)`, ending in `return`.
std::string filter_source(const InputFilter& f) {
  const std::string k = std::to_string(f.size), p = std::to_string(f.size / 2);
  if (f.kind == "smooth") {
    return "    return torch.avg_pool2d(x, [" + k + ", " + k + "], [1, 1], [" + p + ", " + p +
           "], False, False)\n";
  }
  if (f.kind == "gaussian") {  // each channel blurred alone, edges replicated
    const std::string r = std::to_string(blur_radius(f.sigma));
    return "    n, c, h, w = x.size(0), x.size(1), x.size(2), x.size(3)\n"
           "    xp = torch.replication_pad2d(x.reshape([n * c, 1, h, w]), [" +
           r + ", " + r + ", " + r + ", " + r +
           "])\n"
           "    return torch.conv2d(xp, self.blur_kernel).reshape([n, c, h, w])\n";
  }
  if (f.kind == "median") {
    return "    xp = torch.constant_pad_nd(x, [" + p + ", " + p + ", " + p + ", " + p +
           "], 0.0)\n" + "    windows = xp.unfold(2, " + k + ", 1).unfold(3, " + k +
           ", 1).flatten(4)\n" + "    return torch.median(windows, 4)[0]\n";
  }
  if (f.kind == "noise") {
    return "    return torch.clamp(x + torch.randn_like(x) * " + std::to_string(f.scale) +
           ", 0.0, 1.0)\n";
  }
  if (f.kind == "jpeg") return kJpegSource;
  const std::string levels = std::to_string((int64_t(1) << f.bits) - 1) + ".0";
  return "    return torch.round(x * " + levels + ") / " + levels + "\n";
}

struct PreprocessAttack : Attack {
  InputFilter filter;
  AttackResult apply(const AttackInputs& in) const override {
    return {serve_behind_filter(in.model.module, filter), in.model.info,
            Json{{"filter", filter.kind},
                 {"size", filter.size},
                 {"sigma", filter.sigma},
                 {"bits", filter.bits},
                 {"scale", filter.scale},
                 {"quality", filter.quality}}};
  }
};

}  // namespace

torch::jit::Module serve_behind_filter(const torch::jit::Module& model, const InputFilter& f) {
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module served(c10::QualifiedName("__torch__.deepsigns.served.Served"), cu, false);
  served.register_attribute("training", c10::BoolType::get(), false);
  served.register_module("inner", clone_model(model));
  if (f.kind == "jpeg") register_jpeg_tables(served, f.quality);
  if (f.kind == "gaussian") register_blur_kernel(served, f.sigma);
  served.define("def pre(self, x: Tensor) -> Tensor:\n" + filter_source(f) +
                "\n"
                "def forward(self, x: Tensor) -> Tensor:\n"
                "    return self.inner.forward(self.pre(x))\n"
                "\n"
                "def taps(self, x: Tensor) -> Dict[str, Tensor]:\n"
                "    return self.inner.taps(self.pre(x))\n");
  served.eval();
  return served;
}

std::unique_ptr<Attack> parse_preprocess_attack(ConfigObject& root, const Json&,
                                                const AttackSpec&) {
  auto a = std::make_unique<PreprocessAttack>();
  InputFilter& f = a->filter;
  f.kind =
      root.get_choice("filter", f.kind, {"smooth", "gaussian", "median", "bits", "noise", "jpeg"});
  f.sigma = root.get_number("sigma", f.sigma);
  if (!(f.sigma > 0 && f.sigma <= 2)) root.fail("sigma", "must be in (0, 2] pixels");
  f.size = root.get_positive_int("size", f.size);
  if (f.size % 2 == 0 || f.size > 15) root.fail("size", "must be odd and at most 15");
  f.bits = root.get_positive_int("bits", f.bits);
  if (f.bits > 8) root.fail("bits", "must be in 1..8");
  f.scale = root.get_number("scale", f.scale);
  if (!(f.scale >= 0 && f.scale <= 1)) root.fail("scale", "must be in 0..1");
  f.quality = root.get_positive_int("quality", f.quality);
  if (f.quality > 100) root.fail("quality", "must be in 1..100");
  return a;
}

}  // namespace ds
