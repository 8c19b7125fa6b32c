#include "models/hv_vae/hv_vae_tiling.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace uspdit::models::hv_vae {
namespace {

// Python's int(size * factor) for the positive sizes used here.
int64_t int_of(int64_t size, double factor) {
  return static_cast<int64_t>(static_cast<double>(size) * factor);
}

// blend_t / blend_v / blend_h of the reference along `dim`, in place on b.
void blend(const at::Tensor& a, const at::Tensor& b, int64_t extent, int64_t dim) {
  extent = std::min({a.size(dim), b.size(dim), extent});
  for (int64_t x = 0; x < extent; ++x) {
    const double t = static_cast<double>(x) / static_cast<double>(extent);
    auto bx = b.select(dim, x);
    bx.copy_(a.select(dim, a.size(dim) - extent + x) * (1 - t) + bx * t);
  }
}

constexpr int64_t kTime = 2, kRows = 3, kCols = 4;

// spatial_tiled_decode's blending of one temporal tile's grid.
at::Tensor assemble_grid(const HvVaeTilePlan::TemporalTile& g, std::vector<at::Tensor>& decoded,
                         const HvVaeTiling& tiling) {
  if (!g.spatial) return decoded[g.first];
  const int64_t blend_px = tiling.blend_pixels(), limit = tiling.row_limit();
  auto at_ = [&](int64_t i, int64_t j) -> at::Tensor& {
    return decoded[g.first + static_cast<size_t>(i * g.grid_cols + j)];
  };
  std::vector<at::Tensor> rows;
  for (int64_t i = 0; i < g.grid_rows; ++i) {
    std::vector<at::Tensor> row;
    for (int64_t j = 0; j < g.grid_cols; ++j) {
      at::Tensor& tile = at_(i, j);
      if (i > 0) blend(at_(i - 1, j), tile, blend_px, kRows);
      if (j > 0) blend(at_(i, j - 1), tile, blend_px, kCols);
      row.push_back(tile.narrow(kRows, 0, std::min(limit, tile.size(kRows)))
                        .narrow(kCols, 0, std::min(limit, tile.size(kCols))));
    }
    rows.push_back(at::cat(row, kCols));
  }
  return at::cat(rows, kRows);
}

}  // namespace

HvVaeTiling HvVaeTiling::from_config(const HvVaeConfig& c) {
  HvVaeTiling t;
  t.tile_sample_min_size = c.sample_size;
  const int64_t halvings = static_cast<int64_t>(c.block_out_channels.size()) - 1;
  t.tile_latent_min_size =
      static_cast<int64_t>(static_cast<double>(c.sample_size) / static_cast<double>(int64_t{1} << halvings));
  t.tile_sample_min_tsize = c.sample_tsize;
  t.tile_latent_min_tsize = c.sample_tsize / c.time_compression_ratio;
  return t;
}

HvVaeTiling HvVaeTiling::off() {
  HvVaeTiling t;
  t.spatial = t.temporal = false;
  return t;
}

HvVaeTiling HvVaeTiling::diffusers(const HvVaeConfig& config, bool spatial) {
  // AutoencoderKLHunyuanVideo.__init__: tile_sample_min_height/width 256, stride 192,
  // tile_sample_min_num_frames 16, stride 12 — attributes, not config fields. Its strides and
  // blends (192 / 64 px, 12 / 4 frames) are the release's rule at overlap 0.25.
  HvVaeTiling t;
  t.spatial = spatial;
  t.temporal = true;
  t.tile_sample_min_size = 256;
  t.tile_latent_min_size = 256 / config.spatial_compression_ratio;
  t.tile_sample_min_tsize = 16;
  t.tile_latent_min_tsize = 16 / config.time_compression_ratio;
  return t;
}

int64_t HvVaeTiling::latent_stride() const {
  return int_of(tile_latent_min_size, 1 - overlap_factor);
}
int64_t HvVaeTiling::blend_pixels() const {
  return int_of(tile_sample_min_size, overlap_factor);
}
int64_t HvVaeTiling::row_limit() const {
  return tile_sample_min_size - blend_pixels();
}
int64_t HvVaeTiling::latent_tstride() const {
  return int_of(tile_latent_min_tsize, 1 - overlap_factor);
}
int64_t HvVaeTiling::blend_frames() const {
  return int_of(tile_sample_min_tsize, overlap_factor);
}
int64_t HvVaeTiling::t_limit() const {
  return tile_sample_min_tsize - blend_frames();
}

void validate(const HvVaeTiling& t) {
  const std::string sizes = "tile_sample_min_size " + std::to_string(t.tile_sample_min_size) +
                            ", tile_latent_min_size " + std::to_string(t.tile_latent_min_size) +
                            ", tile_sample_min_tsize " + std::to_string(t.tile_sample_min_tsize) +
                            ", tile_latent_min_tsize " + std::to_string(t.tile_latent_min_tsize);
  require(t.overlap_factor >= 0 && t.overlap_factor < 1, "VAE tiling: overlap_factor must be in [0, 1)");
  if (t.spatial)
    require(t.latent_stride() >= 1 && t.row_limit() >= 1,
            "VAE tiling: spatial tiles too small for a stride of one latent (" + sizes + ")");
  if (t.temporal)
    require(t.latent_tstride() >= 1 && t.t_limit() >= 1,
            "VAE tiling: temporal tiles too small for a stride of one latent (" + sizes + ")");
}

HvVaeTilePlan plan_tiles(int64_t frames, int64_t rows, int64_t cols, const HvVaeTiling& tiling) {
  validate(tiling);
  HvVaeTilePlan plan;
  const bool spatial =
      tiling.spatial && (rows > tiling.tile_latent_min_size || cols > tiling.tile_latent_min_size);
  auto add_temporal = [&](int64_t t0, int64_t t_len, bool drop_first) {
    HvVaeTilePlan::TemporalTile g;
    g.first = plan.tiles.size();
    g.drop_first = drop_first;
    g.spatial = spatial;
    if (!spatial) {
      plan.tiles.push_back({t0, t_len, 0, rows, 0, cols});
    } else {
      const int64_t stride = tiling.latent_stride(), size = tiling.tile_latent_min_size;
      g.grid_rows = (rows + stride - 1) / stride;
      g.grid_cols = (cols + stride - 1) / stride;
      for (int64_t i = 0; i < rows; i += stride)
        for (int64_t j = 0; j < cols; j += stride)
          plan.tiles.push_back({t0, t_len, i, std::min(size, rows - i), j, std::min(size, cols - j)});
    }
    plan.temporal.push_back(g);
  };
  if (tiling.temporal && frames > tiling.tile_latent_min_tsize) {
    plan.temporal_tiled = true;
    for (int64_t i = 0; i < frames; i += tiling.latent_tstride()) {
      const int64_t t_len = std::min(tiling.tile_latent_min_tsize + 1, frames - i);
      if (i > 0 && t_len == 1) continue;  // one frame, dropped: contributes nothing
      add_temporal(i, t_len, i > 0);
    }
  } else {
    add_temporal(0, frames, false);
  }
  return plan;
}

at::Tensor assemble_tiles(const HvVaeTilePlan& plan, std::vector<at::Tensor>& decoded,
                          const HvVaeTiling& tiling) {
  require(decoded.size() == plan.tiles.size(), "VAE tiling: " + std::to_string(decoded.size()) +
                                                   " decoded tiles for a plan of " +
                                                   std::to_string(plan.tiles.size()));
  std::vector<at::Tensor> row;
  for (const auto& g : plan.temporal) {
    auto video = assemble_grid(g, decoded, tiling);
    if (g.drop_first) video = video.narrow(kTime, 1, video.size(kTime) - 1);
    row.push_back(video);
  }
  if (!plan.temporal_tiled) return row.front();
  const int64_t limit = tiling.t_limit();
  std::vector<at::Tensor> kept;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) blend(row[i - 1], row[i], tiling.blend_frames(), kTime);
    const int64_t keep = i > 0 ? limit : limit + 1;
    kept.push_back(row[i].narrow(kTime, 0, std::min(keep, row[i].size(kTime))));
  }
  return at::cat(kept, kTime);
}

std::vector<int> deal_tiles(const HvVaeTilePlan& plan, int ranks) {
  require(ranks >= 1, "VAE tiling: deal to at least one rank");
  std::vector<size_t> order(plan.tiles.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto cost = [&](size_t k) {
    const auto& t = plan.tiles[k];
    return t.frames * t.rows * t.cols;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cost(a) > cost(b); });
  std::vector<int64_t> load(static_cast<size_t>(ranks), 0);
  std::vector<int> owner(plan.tiles.size(), 0);
  for (size_t k : order) {
    const auto least = std::min_element(load.begin(), load.end()) - load.begin();
    owner[k] = static_cast<int>(least);
    load[static_cast<size_t>(least)] += cost(k);
  }
  return owner;
}

}  // namespace uspdit::models::hv_vae
