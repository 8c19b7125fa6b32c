#include "cli/help.h"

#include <map>

#include "pipeline/family_registry.h"
#include "planner/hardware_profiles.h"

namespace uspdit::cli {
namespace {

// Flags every tensor-running command shares (cli/args.h).
const FlagHelp kDevice{
    {"device"}, "auto|cuda|cpu", "where tensors live; auto: the GPU when one is visible", "auto"};
const FlagHelp kComm{{"comm"},
                     "auto|nccl|host-staged",
                     "how GPU tensors travel between ranks (CPU tensors always use MPI)",
                     "$USPDIT_COMM, else auto"};
// Why 300: parallel/watchdog.h.
const FlagHelp kTimeout{
    {"timeout"},
    "SECONDS",
    "abort the whole job, naming the collective, step, block and the ranks that did not arrive, when "
    "one collective waits longer (exit 124); a 720p Wan 14B step's collectives take seconds even on "
    "1 Gb/s, the margin is for one rank's slower loading; 0 = never",
    "300"};
const FlagHelp kThreads{{"threads"}, "N", "intra-op CPU threads per rank; 0 keeps libtorch's choice", "0"};
const FlagHelp kUlysses{{"ulysses-degree", "ulysses-size"},
                        "U",
                        "Ulysses (all-to-all over heads) degree of the mesh; U x R (x cfg) = ranks",
                        "1"};
const FlagHelp kRing{{"ring-degree", "ring-size"}, "R", "Ring (K/V passed around) degree of the mesh", "1"};
const FlagHelp kJoint{{"joint-strategy"},
                      "auto|split|front|rear",
                      "HunyuanVideo: where the text tokens join the video sequence across ranks",
                      "auto"};

CommandHelp generate_help() {
  CommandHelp h;
  h.usage =
      "uspdit generate [--ckpt_dir DIR] --prompt TEXT [flags]   (HunyuanVideo: --model-base DIR, "
      "sample_video.py's flags)";
  h.about =
      "Text to video: the model family is found from the folder, and each family reads its reference\n"
      "script's flag names.\n"
      "Wan defaults: the sampling follows the folder (a -Diffusers folder: diffusers' WanPipeline with\n"
      "its scheduler/scheduler_config.json and an empty negative prompt; an original folder: Wan's\n"
      "generate.py, unipc, shift 5, Wan's default negative prompt); --schedule picks the other;\n"
      "--sample_solver and --sample_shift override the folder; --sample_steps 50; --sample_guide_scale 5;\n"
      "--dtype bf16 sets the text encoder and the DiT (--text-dtype overrides the text encoder);\n"
      "the VAE and sampler run in fp32.\n"
      "HunyuanVideo: the release's ckpts/ samples as sample_video.py, a diffusers folder as\n"
      "HunyuanVideoPipeline with its scheduler_config.json; --schedule picks the other.\n"
      "Without --ckpt_dir: the project's demo model, models/demo-shapes-t2v (one coloured circle,\n"
      "square or triangle moving left/right/up/down: try --prompt \"a red circle moving right\").\n"
      "A model folder may carry generate_defaults.json (size, frame_num, sample_steps, sample_shift,\n"
      "sample_guide_scale, sample_solver): its model's own defaults, used where no flag is given.";
  h.sections.push_back(
      {"every model",
       {{{"ckpt-dir", "model", "model-base"},
         "DIR",
         "the model folder (original release or -Diffusers)",
         "models/demo-shapes-t2v ($USPDIT_DEFAULT_MODEL)"},
        kUlysses,
        kRing,
        {{"use-cfg-parallel"},
         "",
         "run the two guidance branches on two halves of the ranks (cfg degree 2)",
         "off"},
        {{"save-frames"}, "DIR", "also write every frame as PNG into DIR (it must exist)", "none"},
        {{"save-video-tensor"},
         "FILE.safetensors",
         "also write the decoded video before 8-bit rounding (float32 [1, 3, F, H, W], key \"video\"), to "
         "compare runs on different meshes to a tolerance",
         "none"},
        {{"save-strip"}, "FILE.png", "also write every 4th frame side by side as one PNG", "none"},
        {{"bench-output"}, "DIR", "write a benchmark JSON report into DIR", "none"},
        {{"warmup-steps"}, "N", "denoising steps run and discarded before the timed run", "0"},
        {{"n-repeats"}, "N", "timed repetitions of the whole generation", "1"},
        {{"serial-vae"}, "", "decode the video on one rank instead of spreading the VAE over all", "off"},
        {{"text-encoder-on-every-rank"}, "", "every rank encodes the prompt (no broadcast)", "off"},
        {{"no-progress"}, "", "no per-step progress line", "off"},
        {{"max-memory-gib"},
         "X",
         "what one rank may use; the memory preflight refuses a run predicted above it",
         "the device's (CPU: this machine's RAM)"},
        {{"skip-memory-check"}, "", "run even when the memory preflight predicts it does not fit", "off"},
        {{"fps"}, "N", "frames per second of the mp4 (1..240)", "the model's (Wan 16, HunyuanVideo 24)"},
        {{"crf"}, "N", "H.264 quality, lower is better", "the model's (Wan 10, HunyuanVideo 25)"},
        kThreads,
        kDevice,
        kComm,
        kTimeout}});
  h.sections.push_back(
      {"step caching (every model; the same video on every mesh)",
       {{{"cache"}, "none|teacache|magcache|fbcache", "skip DiT steps whose input barely changed", "none"},
        {{"cache-threshold"},
         "X",
         "how much change is skipped",
         "per model: TeaCache Wan 0.2, HunyuanVideo 0.15; MagCache Wan 1.3B 0.12, 14B and HunyuanVideo 0.24; "
         "fbcache 0.05"},
        {{"teacache_thresh"}, "X", "TeaCache's name: turns TeaCache on with this threshold", "off"},
        {{"use_ret_steps"}, "", "TeaCache's retention steps", "off"},
        {{"use_magcache"}, "", "MagCache's name for --cache magcache", "off"},
        {{"magcache_thresh"}, "X", "MagCache's threshold", "as --cache-threshold"},
        {{"magcache_K"}, "N", "MagCache's most consecutive skipped steps", "Wan 1.3B 4, else 6"},
        {{"retention_ratio"}, "R", "MagCache's share of first steps never skipped", "0.2"}}});
  h.sections.push_back(
      {"Wan 2.1 (generate.py and xDiT names)",
       {{{"prompt"}, "TEXT", "what the video shows", "required"},
        {{"negative-prompt"}, "TEXT", "what guidance steers away from", "the folder's reference (see above)"},
        {{"task"}, "t2v-1.3B|t2v-14B", "generate.py's task; checked against the folder", "from the folder"},
        {{"size"}, "W*H", "generate.py's frame size, e.g. 832*480", "1280*720"},
        {{"width"}, "W", "frame width (xDiT)", "1280"},
        {{"height"}, "H", "frame height (xDiT)", "720"},
        {{"frame-num", "num-frames"}, "N", "frames, 4n+1", "81"},
        {{"sample-steps", "num-inference-steps"}, "N", "denoising steps", "50 (or the folder's)"},
        {{"sample-shift", "shift", "flow-shift"},
         "S",
         "flow shift of the sigmas",
         "the folder's (original: 5)"},
        {{"sample-solver", "solver"}, "unipc|dpm++|euler", "the sampler", "the folder's (original: unipc)"},
        {{"schedule"}, "diffusers|original", "which reference to sample as", "from the folder"},
        {{"sample-guide-scale", "guidance-scale"}, "G", "classifier-free guidance scale", "5"},
        {{"base-seed", "seed"}, "N", "noise seed", "0"},
        {{"text-len", "max-sequence-length"}, "N", "text tokens the encoder pads to", "the model's (512)"},
        {{"save-file"}, "FILE.mp4", "the video", "generate.py's name in the current folder"},
        {{"dtype"}, "bf16|fp32", "the text encoder's and the DiT's dtype", "bf16"},
        {{"text-dtype", "t5-dtype"}, "bf16|fp32", "the text encoder's dtype alone", "--dtype"},
        {{"enable-tiling"}, "", "decode in overlapping tiles (less memory, approximate)", "off"},
        {{"vae-tile-size"}, "PIXELS", "tile size with --enable_tiling (multiple of 8)", "256"},
        {{"vae-tile-stride"}, "PIXELS", "tile stride with --enable_tiling (multiple of 8)", "192"},
        {{"enable-slicing"}, "", "accepted for xDiT; generate always decodes one sample at a time", "off"},
        {{"t5-cpu"}, "", "run the umt5 text encoder on the host", "off"},
        {{"offload-model"}, "true|false", "move each stage off the GPU after use", "false"},
        {{"t5-checkpoint"}, "FILE", "the text encoder's weights instead of the folder's", "the folder's"},
        {{"tokenizer"}, "DIR", "the tokenizer instead of the folder's", "the folder's"},
        {{"vae-checkpoint"}, "FILE", "the VAE's weights instead of the folder's", "the folder's"}}});
  h.sections.push_back(
      {"HunyuanVideo (sample_video.py names)",
       {{{"prompt"}, "TEXT", "what the video shows", "required"},
        {{"neg-prompt", "negative-prompt"},
         "TEXT",
         "the negative branch's prompt (with --cfg-scale > 1)",
         "empty"},
        {{"video-size"}, "H W", "frame height and width, rounded up to multiples of 16", "720 1280"},
        {{"height"}, "H", "frame height (xDiT)", "720"},
        {{"width"}, "W", "frame width (xDiT)", "1280"},
        {{"video-length", "num-frames"}, "N", "frames, 4n+1", "129"},
        {{"infer-steps", "num-inference-steps"}, "N", "denoising steps", "50 (or the diffusers folder's)"},
        {{"seed"}, "N", "noise seed", "0"},
        {{"embedded-cfg-scale", "guidance-scale"}, "G", "the guidance-distilled DiT's guidance input", "6"},
        {{"cfg-scale"}, "G", "true classifier-free guidance when > 1 (a second branch)", "1"},
        {{"flow-shift"}, "S", "flow shift of the sigmas", "7 (or the diffusers folder's)"},
        {{"flow-reverse"}, "true|false", "sigmas run 1 -> 0 (what the model is trained for)", "true"},
        {{"schedule"}, "original|diffusers", "which reference's flow schedule", "from the folder"},
        {{"dit-weight"}, "FILE", "the DiT's .pt instead of the folder's", "the folder's"},
        {{"use-fp8"}, "", "load the fp8 DiT release (mp_rank_00_model_states_fp8.pt)", "off"},
        {{"precision"}, "bf16|fp16|fp32", "the DiT's dtype", "bf16"},
        {{"vae-precision"}, "bf16|fp16|fp32", "the VAE's dtype", "fp16"},
        {{"text-encoder-precision"}, "bf16|fp16|fp32", "both text encoders' dtype", "fp16"},
        {{"vae-tiling"}, "true|false", "decode in tiles as the release does", "true"},
        {{"use-cpu-offload"}, "", "move each stage off the GPU after use", "off"},
        {{"save-path"}, "DIR", "folder of the video, named as sample_video.py names it", "./results"},
        {{"save-file"}, "FILE.mp4", "the video's exact path instead of --save-path's name", "none"},
        kJoint}});
  return h;
}

CommandHelp forward_help() {
  CommandHelp h;
  h.usage = "uspdit forward --ckpt-dir DIR --inputs IN.safetensors --output OUT.safetensors [flags]";
  h.about =
      "One DiT forward on inputs read from a safetensors file (diffusers' argument names); the output "
      "`sample` is written to a safetensors file.";
  h.sections.push_back(
      {"flags",
       {{{"ckpt-dir"}, "DIR", "the DiT checkpoint folder", "required"},
        {{"inputs"}, "FILE", "safetensors with the forward's inputs", "required"},
        {{"output"}, "FILE", "safetensors to write `sample` to (its folder must exist)", "required"},
        {{"model"}, "auto|wan2.1|hunyuanvideo", "the model family", "auto (from the folder)"},
        {{"dtype"}, "fp32|bf16|fp16", "the DiT's dtype", "fp32"},
        {{"ema"}, "", "HunyuanVideo: the EMA weights", "off"},
        kJoint,
        kUlysses,
        kRing,
        kThreads,
        kDevice,
        kComm,
        kTimeout}});
  return h;
}

CommandHelp plan_help() {
  CommandHelp h;
  h.usage = "uspdit plan (--model NAME | --heads N --seq-len L) [flags]";
  h.about =
      "Lists every (ulysses, ring, cfg) mesh that can run the model on N nodes x G GPUs, the bytes one\n"
      "rank sends per attention call and per DiT step (to GPUs on its node vs. other nodes), and\n"
      "recommends one. Traffic is the USP formulas: Ulysses 4(U-1)/U (L/P) H D and Ring 2(R-1) (L/P) H D\n"
      "elements per rank and call, P = U R, shown for the rank that sends the most between nodes.\n"
      "Needs no MPI. Models (aliases in brackets; their defaults apply unless overridden):";
  for (const auto& m : pipeline::plan_models()) {
    std::string aliases;
    for (const auto& a : m.aliases) aliases += (aliases.empty() ? "" : ", ") + a;
    h.about += "\n  " + m.name + " [" + aliases + "]:\n    " + std::to_string(m.heads) + " heads x " +
               std::to_string(m.head_dim) + ", " + std::to_string(m.layers) +
               " attention layers, --seq-len " + std::to_string(m.default_seq_len) + " (" + m.default_shape +
               ")";
  }
  h.sections.push_back(
      {"flags",
       {{{"model"}, "NAME", "a model of the list above", "none (then --heads)"},
        {{"heads"}, "N", "attention heads of a model not in the list", "none"},
        {{"head-dim"}, "D", "with --heads", "128"},
        {{"seq-len"}, "L", "video tokens per sample; required with --heads", "the model's"},
        {{"layers"},
         "K",
         "attention layers per DiT step; with --model also the blocks the predictions count (random-weight "
         "checkpoints with fewer layers)",
         "the model's; 1 with --heads"},
        {{"gpus-per-node"}, "G", "GPUs (ranks) per node", "8"},
        {{"nodes"}, "N", "nodes", "1"},
        {{"cfg"}, "", "the pipeline uses classifier-free guidance: also consider cfg degree 2", "off"},
        {{"dtype"}, "bf16|fp16|fp32|fp8", "activation dtype", "bf16"},
        {{"json"}, "", "print one JSON object instead of the table", "off"}}});
  h.sections.push_back(
      {"predictions (published models, --model): each rank's peak memory and the time per step and run",
       {{{"height"},
         "H",
         "the run's frame height, generate's name",
         "Wan 1.3B 480, 14B and HunyuanVideo 720"},
        {{"width"}, "W", "the run's frame width", "Wan 1.3B 832, 14B and HunyuanVideo 1280"},
        {{"num-frames", "frame-num", "video-length"}, "F", "the run's frames", "81 (HunyuanVideo 129)"},
        {{"num-inference-steps", "sample-steps", "infer-steps"}, "S", "the run's denoising steps", "50"},
        {{"use-cfg-parallel"}, "", "same as --cfg", "off"},
        {{"gpu"},
         "NAME",
         planner::known_gpu_names() +
             "; cpu measures this machine's GEMM and attention rates once (a few seconds, cached)",
         "h100"},
        {{"calibrate"}, "", "with --gpu cpu: measure the rates again", "off"},
        {{"links"},
         "FILE",
         "link bandwidths measured by `uspdit check --json > FILE` instead of the profile's",
         "the profile's"},
        {{"max-memory-gib"}, "X", "what a rank may use", "the profile's memory; cpu: this machine's RAM"},
        {{"text-encoder-on-every-rank"}, "", "as generate's flag", "off"},
        {{"offload-model"}, "", "as generate's flag", "off"},
        {{"enable-tiling"}, "", "as generate's flag", "off"},
        {{"serial-vae"},
         "",
         "as generate's flag: every rank decodes the whole video (how xDiT's HunyuanVideo and Wan's "
         "generate.py decode)",
         "off"}}});
  return h;
}

CommandHelp check_help() {
  CommandHelp h;
  h.usage = "mpirun -np N uspdit check [flags]";
  h.about =
      "Measures latency and bandwidth of every pair of nodes (first rank of each), every pair of ranks\n"
      "inside a node, and all-to-all inside each node and over the world; flags links under F (half)\n"
      "the median of their peers, the inter-node links of a node whose links are under F those of the\n"
      "other nodes (3+ nodes), inter-node links under G GB/s (the only judge with 2 nodes), and\n"
      "environment settings known to slow runs down (NCCL_P2P_DISABLE=1, NCCL_IB_DISABLE=1,\n"
      "OMPI_MCA_btl without shared memory, ...).";
  h.sections.push_back(
      {"flags",
       {{{"bytes"}, "B", "bandwidth message size in bytes", "16777216"},
        {{"iters"}, "K", "timed repetitions of the bandwidth message, fastest kept", "5"},
        {{"slow-fraction"},
         "F",
         "a link (or node) is slow under F x its peers'; lower it where CPU contention makes healthy links "
         "vary (shared cores)",
         "0.5"},
        {{"nodes-share-cpus"},
         "",
         "measure one node's links at a time: for nodes that share one machine's cores (network namespaces, "
         "VMs on one host)",
         "off"},
        {{"min-inter-node-gbps"}, "G", "also flag inter-node links under G GB/s", "none"},
        {{"json"}, "", "print the report as JSON", "off"},
        {{"simulate-ranks-per-node"},
         "N",
         "treat ranks [kN, (k+1)N) as node k (testing only: the links are not real)",
         "0 (the real nodes)"},
        kDevice,
        kComm,
        kTimeout}});
  h.after = "exit code: 0 nothing flagged, 3 a link or a setting was flagged, 2 bad flags, 1 failure";
  return h;
}

CommandHelp bench_attn_help() {
  CommandHelp h;
  h.usage = "mpirun -np P uspdit bench-attn [flags]   (also `uspdit bench attn`)";
  h.about =
      "Times USP attention on a global shape with the given degrees, counts the bytes each rank sends, "
      "and with --verify compares against single-rank attention.";
  h.sections.push_back({"flags",
                        {{{"batch"}, "N", "batch size", "1"},
                         {{"seq-len"}, "L", "video tokens", "4096"},
                         {{"heads"}, "N", "attention heads", "24"},
                         {{"head-dim"}, "D", "head dimension", "64"},
                         {{"text-len"}, "N", "joint text tokens (HunyuanVideo-style)", "0"},
                         {{"text-padding"}, "N", "padding tokens among the text tokens", "0"},
                         {{"seed"}, "N", "seed of the random inputs", "0"},
                         {{"dtype"}, "fp32|bf16|fp16", "dtype of the inputs", "fp32"},
                         kUlysses,
                         kRing,
                         kJoint,
                         {{"iters"}, "N", "timed iterations", "5"},
                         {{"warmup"}, "N", "untimed iterations first", "1"},
                         {{"verify"}, "", "compare with single-rank attention", "off"},
                         kThreads,
                         kDevice,
                         kComm,
                         kTimeout}});
  return h;
}

CommandHelp bench_dit_help() {
  CommandHelp h;
  h.usage = "mpirun -np P uspdit bench dit [flags]   (also `uspdit bench-dit`)";
  h.about =
      "Times one DiT forward step with random weights in the real layout, on any mesh; the layer count is "
      "settable so that a full-width block fits a small machine.";
  h.sections.push_back(
      {"flags",
       {{{"model"},
         "NAME",
         "wan2.1-t2v-1.3b, wan2.1-t2v-14b, hunyuanvideo (see `uspdit plan --help`)",
         "wan2.1-t2v-1.3b"},
        {{"layers"}, "N", "DiT blocks (HunyuanVideo: double-stream blocks)", "2"},
        {{"single-layers"}, "N", "HunyuanVideo: single-stream blocks", "--layers (HunyuanVideo), else 0"},
        {{"dtype"}, "fp32|bf16|fp16", "weights' and activations' dtype", "fp32"},
        {{"height"}, "H", "frame height in pixels (multiple of 16)", "128"},
        {{"width"}, "W", "frame width in pixels (multiple of 16)", "128"},
        {{"num-frames", "frame-num"}, "N", "frames, 4n+1", "9"},
        {{"text-len"}, "N", "text tokens", "512"},
        {{"text-padding"}, "N", "padding tokens among them", "0"},
        {{"batch"}, "N", "batch size", "1"},
        kUlysses,
        kRing,
        kJoint,
        {{"iters"}, "N", "timed steps", "3"},
        {{"warmup"}, "N", "untimed steps first", "1"},
        kThreads,
        kDevice,
        kComm,
        kTimeout}});
  return h;
}

std::string wrap(const std::string& text, size_t indent, size_t width) {
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

}  // namespace

const CommandHelp* command_help(const std::string& command) {
  static const std::map<std::string, CommandHelp> kHelp = {
      {"generate", generate_help()}, {"forward", forward_help()},       {"plan", plan_help()},
      {"check", check_help()},       {"bench-attn", bench_attn_help()}, {"bench-dit", bench_dit_help()},
  };
  const auto it = kHelp.find(command);
  return it == kHelp.end() ? nullptr : &it->second;
}

std::string render_help(const CommandHelp& help) {
  std::string out = "usage: " + help.usage + "\n\n";
  // The about text wrapped at 100 columns, each line keeping its own indentation.
  size_t start = 0;
  while (start <= help.about.size()) {
    size_t end = help.about.find('\n', start);
    if (end == std::string::npos) end = help.about.size();
    const std::string line = help.about.substr(start, end - start);
    const size_t indent = line.find_first_not_of(' ');
    out += indent == std::string::npos ? "\n" : wrap(line.substr(indent), indent, 100);
    start = end + 1;
  }
  out += "\n`_` and `-` in flag names are the same; `--flag=value` works too.\n";
  for (const auto& section : help.sections) {
    out += "\n" + section.title + ":\n";
    for (const auto& flag : section.flags) {
      std::string head = "  --" + flag.names.front() + (flag.value.empty() ? "" : " " + flag.value);
      if (flag.names.size() > 1) {
        head += "   (also";
        for (size_t i = 1; i < flag.names.size(); ++i) head += " --" + flag.names[i];
        head += ")";
      }
      out += head + "\n";
      const std::string fallback = flag.fallback == "required" ? "; required"
                                   : flag.fallback.empty()     ? ""
                                                               : "; default: " + flag.fallback;
      out += wrap(flag.meaning + fallback, 6, 100);
    }
  }
  if (!help.after.empty()) out += "\n" + help.after + "\n";
  return out;
}

std::set<std::string> listed_flags(const CommandHelp& help) {
  std::set<std::string> names;
  for (const auto& section : help.sections) {
    for (const auto& flag : section.flags) names.insert(flag.names.begin(), flag.names.end());
  }
  return names;
}

}  // namespace uspdit::cli
