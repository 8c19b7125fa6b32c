#include "pipeline/t2v_family.h"

#include <ATen/ATen.h>

namespace uspdit::pipeline {
namespace {

at::Tensor row_of(const at::Tensor& t, int64_t index) {
  return t.defined() ? t.narrow(0, index, 1) : t;
}

at::Tensor cat_of(const at::Tensor& a, const at::Tensor& b) {
  return a.defined() ? at::cat({a, b}) : a;
}

}  // namespace

TextConditioning TextConditioning::row(int64_t index) const {
  return {row_of(states, index), row_of(mask, index), row_of(pooled, index)};
}

TextConditioning TextConditioning::cat(const TextConditioning& a, const TextConditioning& b) {
  return {cat_of(a.states, b.states), cat_of(a.mask, b.mask), cat_of(a.pooled, b.pooled)};
}

std::vector<at::Tensor*> TextConditioning::parts() {
  std::vector<at::Tensor*> out;
  for (at::Tensor* t : {&states, &mask, &pooled}) {
    if (t->defined()) out.push_back(t);
  }
  return out;
}

}  // namespace uspdit::pipeline
