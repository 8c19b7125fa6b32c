#include "cache/step_cache.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/device.h"
#include "core/log.h"

namespace uspdit::cache {
namespace {

// np.poly1d: coefficients highest power first (Horner).
double polynomial(const std::vector<double>& coefficients, double x) {
  double y = 0.0;
  for (double c : coefficients) y = y * x + c;
  return y;
}

at::Tensor select_rows(const at::Tensor& t, const std::vector<int64_t>& rows) {
  if (static_cast<int64_t>(rows.size()) == t.size(0)) return t;  // rows are ascending and unique
  return t.index_select(0, at::tensor(rows, at::kLong).to(t.device()));
}

int64_t bytes_of(const at::Tensor& t) {
  return t.defined() ? static_cast<int64_t>(t.nbytes()) : 0;
}

}  // namespace

StepCache::StepCache(CacheConfig config, int steps, int branches)
    : config_(std::move(config)), steps_(steps), branches_(static_cast<size_t>(branches)) {
  if (steps < 1 || branches < 1) throw std::invalid_argument("StepCache: needs steps >= 1 and branches >= 1");
  if (config_.method == CacheMethod::magcache &&
      config_.mag_ratios.size() != static_cast<size_t>(steps * config_.calls_per_step)) {
    throw std::invalid_argument("StepCache: MagCache needs one ratio per call (steps × calls_per_step)");
  }
  record_.method = std::string(cache_method_name(config_.method));
  record_.settings = config_.describe();
  record_.pattern.assign(static_cast<size_t>(branches), std::string(static_cast<size_t>(steps), '.'));
  record_.distance.assign(static_cast<size_t>(branches),
                          std::vector<double>(static_cast<size_t>(steps), std::nan("")));
}

void StepCache::begin_forward(int step, std::vector<int> branch_of_row) {
  if (step < 0 || step >= steps_) throw std::invalid_argument("StepCache: step out of range");
  for (size_t i = 0; i < branch_of_row.size(); ++i) {
    if (branch_of_row[i] < 0 || branch_of_row[i] >= static_cast<int>(branches_.size()) ||
        (i > 0 && branch_of_row[i] <= branch_of_row[i - 1])) {
      throw std::invalid_argument("StepCache: each batch row needs its own branch, ascending");
    }
  }
  step_ = step;
  rows_ = std::move(branch_of_row);
}

bool StepCache::forced(int step) const {
  return step < config_.first_steps || step >= steps_ - config_.last_steps;
}

bool StepCache::teacache_computes(Branch& b, double distance) const {
  b.accumulated += polynomial(config_.coefficients, distance);
  if (b.accumulated < config_.threshold) return false;
  b.accumulated = 0.0;
  return true;
}

bool StepCache::magcache_computes(Branch& b, int branch) const {
  const int calls = steps_ * config_.calls_per_step;
  const int call = config_.calls_per_step == 2 ? 2 * step_ + branch : step_;
  if (call < static_cast<int>(calls * config_.retention_ratio)) return true;
  b.accumulated_ratio *= config_.mag_ratios[static_cast<size_t>(call)];
  b.accumulated_steps += 1;
  b.accumulated_error += std::abs(1.0 - b.accumulated_ratio);
  const bool within = config_.inclusive_threshold ? b.accumulated_error <= config_.threshold
                                                  : b.accumulated_error < config_.threshold;
  if (within && b.accumulated_steps <= config_.max_skips) return false;
  b.accumulated_ratio = 1.0;
  b.accumulated_error = 0.0;
  b.accumulated_steps = 0;
  return true;
}

std::vector<double> StepCache::relative_l1(const at::Tensor& a, const at::Tensor& b, bool sharded,
                                           parallel::Communicator& sequence) const {
  // Per row, in float64: [Σ|a − b|, Σ|b|] over this rank's elements.
  const auto diff = (a - b).abs().to(at::kDouble).flatten(1).sum(1);
  const auto base = b.abs().to(at::kDouble).flatten(1).sum(1);
  auto sums = at::stack({diff, base}).contiguous();  // [2, B]
  const int64_t n = sums.numel();
  at::Tensor all = sums.reshape({1, n});
  if (sharded && sequence.size() > 1) {
    // Every rank's sums, in the group's rank order; every rank adds them in that order.
    all = at::empty({sequence.size() * n}, sums.options());
    std::vector<int64_t> counts(static_cast<size_t>(sequence.size()), n);
    sequence.all_gather_v(sums.reshape({n}), all, counts);
    all = all.view({sequence.size(), n});
  }
  const auto host = core::to_host(all).contiguous();
  const double* p = host.data_ptr<double>();
  const int64_t rows = a.size(0);
  std::vector<double> out(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    double d = 0.0, s = 0.0;
    for (int64_t k = 0; k < host.size(0); ++k) {
      d += p[k * n + r];
      s += p[k * n + rows + r];
    }
    out[static_cast<size_t>(r)] = d / s;
  }
  return out;
}

void StepCache::note_distance(int64_t row, double distance) {
  const auto b = static_cast<size_t>(rows_[static_cast<size_t>(row)]);
  record_.distance[b][static_cast<size_t>(step_)] = distance;
  log::debug("cache " + record_.method + ": step " + std::to_string(step_) + " branch " + std::to_string(b) +
             " distance " + std::to_string(distance));
}

void StepCache::account(const std::vector<bool>& compute, int blocks_skipped_per_row, int num_blocks) {
  record_.num_blocks = num_blocks;
  record_.blocks_skipped_per_reuse = blocks_skipped_per_row;
  for (size_t r = 0; r < rows_.size(); ++r) {
    record_.pattern[static_cast<size_t>(rows_[r])][static_cast<size_t>(step_)] = compute[r] ? 'C' : 'R';
  }
  int64_t bytes = 0;
  for (const auto& b : branches_) bytes += bytes_of(b.residual) + bytes_of(b.head_residual);
  record_.residual_bytes = std::max(record_.residual_bytes, bytes);
}

at::Tensor StepCache::run(const at::Tensor& x, const CachedStack& stack, parallel::Communicator& sequence) {
  const int64_t B = x.size(0);
  if (static_cast<int64_t>(rows_.size()) != B) {
    throw std::invalid_argument("StepCache::run: begin_forward named " + std::to_string(rows_.size()) +
                                " branches for a batch of " + std::to_string(B));
  }
  std::vector<int64_t> all_rows(static_cast<size_t>(B));
  for (int64_t r = 0; r < B; ++r) all_rows[static_cast<size_t>(r)] = r;
  if (!config_.enabled()) return stack.run(x, all_rows, 0, stack.num_blocks);

  std::vector<bool> compute(static_cast<size_t>(B), true);
  auto branch = [&](int64_t r) -> Branch& {
    return branches_[static_cast<size_t>(rows_[static_cast<size_t>(r)])];
  };
  at::Tensor base = x;  // what the stored residual is added to
  int first_block = 0;

  if (config_.method == CacheMethod::teacache) {
    const auto indicator = stack.indicator().to(at::kFloat);
    // Rows whose previous indicator exists and whose step is not forced need the distance.
    std::vector<int64_t> measured;
    for (int64_t r = 0; r < B; ++r) {
      if (!forced(step_) && branch(r).previous_indicator.defined()) measured.push_back(r);
    }
    if (!measured.empty()) {
      std::vector<at::Tensor> previous;
      for (auto r : measured) previous.push_back(branch(r).previous_indicator);
      const auto distance =
          relative_l1(select_rows(indicator, measured), at::cat(previous), stack.indicator_sharded, sequence);
      for (size_t i = 0; i < measured.size(); ++i) {
        note_distance(measured[i], distance[i]);
        compute[static_cast<size_t>(measured[i])] = teacache_computes(branch(measured[i]), distance[i]);
      }
    }
    for (int64_t r = 0; r < B; ++r) {
      if (forced(step_) || !branch(r).previous_indicator.defined()) branch(r).accumulated = 0.0;
      branch(r).previous_indicator = indicator.narrow(0, r, 1).clone();
    }
  } else if (config_.method == CacheMethod::magcache) {
    for (int64_t r = 0; r < B; ++r)
      compute[static_cast<size_t>(r)] = magcache_computes(branch(r), rows_[static_cast<size_t>(r)]);
  } else if (config_.method == CacheMethod::fbcache) {
    base = stack.run(x, all_rows, 0, 1);
    first_block = 1;
    const auto head_residual = base - x;
    std::vector<int64_t> measured;
    for (int64_t r = 0; r < B; ++r) {
      if (branch(r).head_residual.defined()) measured.push_back(r);
    }
    if (!measured.empty()) {
      std::vector<at::Tensor> previous;
      for (auto r : measured) previous.push_back(branch(r).head_residual);
      const auto distance =
          relative_l1(select_rows(head_residual, measured), at::cat(previous), true, sequence);
      for (size_t i = 0; i < measured.size(); ++i) {
        note_distance(measured[i], distance[i]);
        compute[static_cast<size_t>(measured[i])] = distance[i] > config_.threshold;
      }
    }
    // The head residual is kept from computed steps only (diffusers).
    for (int64_t r = 0; r < B; ++r) {
      if (compute[static_cast<size_t>(r)]) branch(r).head_residual = head_residual.narrow(0, r, 1).clone();
    }
  }
  // Nothing stored yet: compute (the references never reach this: their first step computes).
  for (int64_t r = 0; r < B; ++r) {
    if (!branch(r).residual.defined()) compute[static_cast<size_t>(r)] = true;
  }

  std::vector<int64_t> computed, reused;
  for (int64_t r = 0; r < B; ++r) (compute[static_cast<size_t>(r)] ? computed : reused).push_back(r);
  at::Tensor out;
  if (!computed.empty()) {
    const auto in = select_rows(base, computed);
    const auto done = stack.run(in, computed, first_block, stack.num_blocks);
    for (size_t i = 0; i < computed.size(); ++i) {
      branch(computed[i]).residual =
          (done.narrow(0, static_cast<int64_t>(i), 1) - in.narrow(0, static_cast<int64_t>(i), 1))
              .contiguous();
    }
    if (reused.empty())
      out = done;
    else
      out = base.clone().index_copy_(0, at::tensor(computed, at::kLong).to(base.device()), done);
  } else {
    out = base.clone();
  }
  for (auto r : reused) out.narrow(0, r, 1).copy_(base.narrow(0, r, 1) + branch(r).residual);
  account(compute, config_.method == CacheMethod::fbcache ? stack.num_blocks - 1 : stack.num_blocks,
          stack.num_blocks);
  return out;
}

}  // namespace uspdit::cache
