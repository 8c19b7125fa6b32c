#include "sampling/diffusers_scheduler_config.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "io/json.h"
#include "io/json_fields.h"

namespace uspdit::sampling {
namespace {

// The fields one class reads, checked against the values the C++ solvers implement.
class FieldCheck {
 public:
  FieldCheck(const io::JsonFields& fields, const std::string& class_name) : f_(fields), class_(class_name) {}

  void string_is(const char* key, const std::string& fallback,
                 const std::vector<std::string>& allowed) const {
    const std::string value = f_.string(key, fallback);
    for (const auto& a : allowed) {
      if (value == a) return;
    }
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "\"" : " or \"") + a + "\"";
    refuse(key, "\"" + value + "\"", list);
  }
  void bool_is(const char* key, bool fallback, bool wanted) const {
    if (f_.boolean(key, fallback) != wanted)
      refuse(key, wanted ? "false" : "true", wanted ? "true" : "false");
  }
  void int_is(const char* key, int64_t fallback, int64_t wanted) const {
    const int64_t value = f_.integer(key, fallback);
    if (value != wanted) refuse(key, std::to_string(value), std::to_string(wanted));
  }
  void absent(const char* key, const std::string& what) const {
    const io::Json* value = f_.find(key);
    const bool empty = value == nullptr || (value->is_array() && value->size() == 0) ||
                       (value->is_bool() && !value->as_bool());
    if (!empty) refuse(key, "set", what);
  }

 private:
  [[noreturn]] void refuse(const char* key, const std::string& got, const std::string& supported) const {
    std::ostringstream msg;
    msg << f_.source() << ": " << class_ << " " << key << " is " << got << "; uspdit reproduces diffusers' "
        << class_ << " only with " << key << " " << supported
        << " (fix the field, or sample as the original release does: --schedule original)";
    throw UsageError(msg.str());
  }
  const io::JsonFields& f_;
  const std::string& class_;
};

void check_unipc(const FieldCheck& c) {
  c.string_is("prediction_type", "epsilon", {"flow_prediction"});
  c.bool_is("use_flow_sigmas", false, true);
  c.int_is("solver_order", 2, 2);
  c.string_is("solver_type", "bh2", {"bh2"});
  c.bool_is("predict_x0", true, true);
  c.bool_is("lower_order_final", true, true);
  c.absent("disable_corrector", "[] (the corrector on every step)");
  c.absent("solver_p", "null");
  c.bool_is("thresholding", false, false);
  c.bool_is("use_dynamic_shifting", false, false);
  c.absent("shift_terminal", "null");
  for (const char* k : {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"})
    c.bool_is(k, false, false);
  c.string_is("final_sigmas_type", "zero", {"zero", "sigma_min"});
  // timestep_spacing, steps_offset and the beta schedule do not reach flow sigmas.
}

void check_dpmpp(const FieldCheck& c) {
  c.string_is("prediction_type", "epsilon", {"flow_prediction"});
  c.bool_is("use_flow_sigmas", false, true);
  c.int_is("solver_order", 2, 2);
  c.string_is("algorithm_type", "dpmsolver++", {"dpmsolver++"});
  c.string_is("solver_type", "midpoint", {"midpoint"});
  c.string_is("final_sigmas_type", "zero", {"zero"});
  c.bool_is("thresholding", false, false);
  c.bool_is("use_lu_lambdas", false, false);
  c.bool_is("use_dynamic_shifting", false, false);
  c.absent("variance_type", "null");
  for (const char* k : {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"})
    c.bool_is(k, false, false);
  // lower_order_final / euler_at_final: with final σ 0 the last step is first order either way.
}

void check_euler(const FieldCheck& c) {
  c.bool_is("use_dynamic_shifting", false, false);
  c.absent("shift_terminal", "null");
  c.bool_is("invert_sigmas", false, false);
  c.bool_is("stochastic_sampling", false, false);
  for (const char* k : {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"})
    c.bool_is(k, false, false);
}

// Python's json module writes non-finite floats as bare Infinity / -Infinity / NaN (diffusers'
// DPMSolverMultistepScheduler saves lambda_min_clipped = -Infinity), which JSON does not allow:
// outside strings they become null, a value none of the fields read here can hold.
std::string python_json_to_json(const std::string& text) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      out += ch;
      if (ch == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    if (ch == '"') in_string = true;
    bool replaced = false;
    for (const std::string token : {"-Infinity", "Infinity", "NaN"}) {
      if (text.compare(i, token.size(), token) == 0) {
        out += "null";
        i += token.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += ch;
  }
  return out;
}

}  // namespace

DiffusersSchedulerConfig read_diffusers_scheduler_config(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  require(file.good(), "cannot read " + path + " (the diffusers folder's scheduler config)");
  std::stringstream text;
  text << file.rdbuf();
  const io::Json json = io::Json::parse(python_json_to_json(text.str()), path);
  const io::JsonFields fields(json, path);
  DiffusersSchedulerConfig config;
  config.class_name = fields.string("_class_name", "");
  const FieldCheck check(fields, config.class_name);
  const char* shift_key = "flow_shift";
  if (config.class_name == "UniPCMultistepScheduler") {
    config.solver = Solver::unipc;
    check_unipc(check);
    config.final_sigma_zero = fields.string("final_sigmas_type", "zero") == "zero";
  } else if (config.class_name == "DPMSolverMultistepScheduler") {
    config.solver = Solver::dpmpp;
    check_dpmpp(check);
  } else if (config.class_name == "FlowMatchEulerDiscreteScheduler") {
    config.solver = Solver::euler;
    shift_key = "shift";
    check_euler(check);
  } else {
    throw UsageError(path + ": _class_name \"" + config.class_name +
                     "\" is not a scheduler uspdit can follow (UniPCMultistepScheduler, "
                     "DPMSolverMultistepScheduler or FlowMatchEulerDiscreteScheduler); pick one with "
                     "--sample_solver and --schedule original");
  }
  config.shift = fields.number(shift_key, 1.0);
  const int64_t train = fields.integer("num_train_timesteps", 1000);
  require(train >= 2 && train <= 1000000,
          path + ": num_train_timesteps " + std::to_string(train) + " out of range");
  config.num_train_timesteps = static_cast<int>(train);
  return config;
}

}  // namespace uspdit::sampling
