// eccvkit's native kernels for TensorFlow.js: an N-API addon over oneDNN.
//
// The JavaScript side (src/engine/native.ts) owns every tensor: it hands this
// addon the Float32Arrays of the inputs and a preallocated Float32Array for the
// output, so nothing is copied on the way in or out. Shapes arrive as an
// Int32Array of parameters whose layout each function documents. Layouts are
// tfjs's own: activations NHWC, conv filters [kh, kw, in, out], depthwise
// filters [kh, kw, in, multiplier]; oneDNN reads them in place and only the
// (small) filters are reordered into its blocked formats.
#include <node_api.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct JsError {
  std::string message;
};

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

// ---------------------------------------------------------------------------
// Argument helpers

napi_value* args(napi_env env, napi_callback_info info, size_t expected, std::vector<napi_value>& out) {
  size_t argc = expected;
  out.assign(expected, nullptr);
  if (napi_get_cb_info(env, info, &argc, out.data(), nullptr, nullptr) != napi_ok || argc < expected) {
    throw JsError{"eccvkit native: expected " + std::to_string(expected) + " arguments, got " + std::to_string(argc)};
  }
  return out.data();
}

bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

template <typename T>
T* typedArray(napi_env env, napi_value v, napi_typedarray_type want, size_t* length, const char* name) {
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  if (!isTyped) throw JsError{std::string("eccvkit native: ") + name + " must be a typed array"};
  napi_typedarray_type type;
  size_t len;
  void* data;
  napi_value buffer;
  size_t offset;
  napi_get_typedarray_info(env, v, &type, &len, &data, &buffer, &offset);
  if (type != want) throw JsError{std::string("eccvkit native: ") + name + " has the wrong element type"};
  if (length) *length = len;
  return static_cast<T*>(data);
}

float* floats(napi_env env, napi_value v, size_t expected, const char* name) {
  size_t len = 0;
  float* p = typedArray<float>(env, v, napi_float32_array, &len, name);
  if (len < expected) {
    throw JsError{std::string("eccvkit native: ") + name + " holds " + std::to_string(len) + " floats, needs " + std::to_string(expected)};
  }
  return p;
}

std::vector<int64_t> ints(napi_env env, napi_value v, size_t expected, const char* name) {
  size_t len = 0;
  int32_t* p = typedArray<int32_t>(env, v, napi_int32_array, &len, name);
  if (len != expected) {
    throw JsError{std::string("eccvkit native: ") + name + " needs " + std::to_string(expected) + " parameters, got " + std::to_string(len)};
  }
  return std::vector<int64_t>(p, p + len);
}

double number(napi_env env, napi_value v) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) throw JsError{"eccvkit native: expected a number"};
  return d;
}

napi_value undefinedValue(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// Asynchronous signals wait until a oneDNN kernel returns. A signal handled on this
// thread in the middle of oneDNN's sgemm corrupted the malloc heap: under
// `node --cpu-prof` (V8's SIGPROF sampler) every 64×512×64 product aborted
// within 300 calls ("corrupted size vs. prev_size"), and never with SIGPROF
// blocked. Blocked signals stay pending and are delivered on return (a Ctrl-C
// waits for at most one kernel); OpenMP threads a kernel starts inherit the
// mask, so process-wide signals go to threads outside the kernels.
// Synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) stay unblocked.
class AsyncSignalBlock {
 public:
  AsyncSignalBlock() {
    static const sigset_t set = [] {
      sigset_t s;
      sigemptyset(&s);
      for (int sig : {SIGPROF, SIGVTALRM, SIGALRM, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGPIPE, SIGIO, SIGURG})
        sigaddset(&s, sig);
      return s;
    }();
    pthread_sigmask(SIG_BLOCK, &set, &saved_);
  }
  ~AsyncSignalBlock() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  AsyncSignalBlock(const AsyncSignalBlock&) = delete;
  AsyncSignalBlock& operator=(const AsyncSignalBlock&) = delete;

 private:
  sigset_t saved_;
};

template <typename F>
napi_value guarded(napi_env env, F&& body) {
  try {
    return body();
  } catch (const JsError& e) {
    napi_throw_error(env, nullptr, e.message.c_str());
  } catch (const dnnl::error& e) {
    napi_throw_error(env, nullptr, (std::string("eccvkit native (oneDNN): ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("eccvkit native: ") + e.what()).c_str());
  }
  return nullptr;
}

// `guarded` for the kernels that run oneDNN code (its JIT sgemm and convolutions):
// only those wait for signals, since the block costs about 0.45 µs a call and our
// own loops are compiled code that signals never upset.
template <typename F>
napi_value guardedOneDnn(napi_env env, F&& body) {
  AsyncSignalBlock signalsWait;
  return guarded(env, std::forward<F>(body));
}

// C = A·B (row-major, op() by ta/tb) by oneDNN's sgemm, failing with its status.
void sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  dnnl_status_t st = dnnl_sgemm(ta, tb, M, N, K, 1.f, A, lda, B, ldb, 0.f, C, ldc);
  if (st != dnnl_success) throw JsError{"eccvkit native: dnnl_sgemm failed with status " + std::to_string(st)};
}

bool allFinite(const float* x, int64_t n) {
  for (int64_t k = 0; k < n; ++k)
    if (!std::isfinite(x[k])) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Activations shared by the fused kernels. Codes match src/engine/native.ts.

enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kSigmoid = 4, kElu = 5 };

void appendActivation(dnnl::post_ops& ops, int64_t act, float alpha) {
  switch (act) {
    case kLinear: break;
    case kRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case kRelu6: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f); break;
    case kLeakyRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, alpha, 0.f); break;
    case kSigmoid: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
    case kElu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_elu, 1.f, 0.f); break;
    default: throw JsError{"eccvkit native: unknown activation code " + std::to_string(act)};
  }
}

inline float activate(float v, int64_t act, float alpha) {
  switch (act) {
    case kRelu: return v > 0.f ? v : 0.f;
    case kRelu6: return std::min(std::max(v, 0.f), 6.f);
    case kLeakyRelu: return v < 0.f ? alpha * v : v;
    case kSigmoid: return 1.f / (1.f + std::exp(-v));
    case kElu: return v > 0.f ? v : std::expm1(v);
    default: return v;
  }
}

// ---------------------------------------------------------------------------
// Threads

// Small problems run on one thread: waking the others costs more than the
// work, and on a busy machine a fork-join waits for a descheduled thread.
// oneDNN sizes its partition when a primitive is created, so the scope is
// entered before creation (the primitive caches key on the thread count).
constexpr int64_t kSerialFlops = int64_t(1) << 21;
// The same bound for the element-wise loops, in elements.
constexpr int64_t kParallelGrain = 1 << 15;

class ThreadScope {
 public:
  explicit ThreadScope(int64_t flops) : saved_(omp_get_max_threads()) {
    if (flops < kSerialFlops && saved_ > 1) omp_set_num_threads(1);
  }
  ~ThreadScope() { omp_set_num_threads(saved_); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
};

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 1, a);
    int n = static_cast<int>(number(env, a[0]));
    if (n < 1) throw JsError{"eccvkit native: threads must be at least 1"};
    omp_set_num_threads(n);
    return undefinedValue(env);
  });
}

napi_value GetThreads(napi_env env, napi_callback_info) {
  napi_value v;
  napi_create_int32(env, omp_get_max_threads(), &v);
  return v;
}

napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t* ver = dnnl_version();
  std::string s = std::to_string(ver->major) + "." + std::to_string(ver->minor) + "." + std::to_string(ver->patch);
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

// ---------------------------------------------------------------------------
// matMul(a, b, out, bias|null, params Int32Array[8], alpha)
// params: batchA, batchB, M, N, K, transposeA, transposeB, activation.
// a is [batchA, M, K] (or [batchA, K, M] when transposed), b is [batchB, K, N]
// (or [batchB, N, K]); a batch of 1 broadcasts. bias has N values (or 1).

napi_value MatMul(napi_env env, napi_callback_info info) {
  return guardedOneDnn(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 6, a);
    auto p = ints(env, a[4], 8, "params");
    const int64_t batchA = p[0], batchB = p[1], M = p[2], N = p[3], K = p[4];
    const bool ta = p[5] != 0, tb = p[6] != 0;
    const int64_t act = p[7];
    const float alpha = static_cast<float>(number(env, a[5]));
    const int64_t batch = std::max(batchA, batchB);
    const float* A = floats(env, a[0], batchA * M * K, "a");
    const float* B = floats(env, a[1], batchB * K * N, "b");
    float* C = floats(env, a[2], batch * M * N, "out");
    size_t biasLen = 0;
    const float* bias = isNullish(env, a[3]) ? nullptr : typedArray<float>(env, a[3], napi_float32_array, &biasLen, "bias");
    if (bias && biasLen != static_cast<size_t>(N) && biasLen != 1) throw JsError{"eccvkit native: bias must hold N or 1 values"};
    ThreadScope threads(2 * batch * M * N * K);
    for (int64_t i = 0; i < batch; ++i) {
      const float* Ai = A + (batchA == 1 ? 0 : i) * M * K;
      const float* Bi = B + (batchB == 1 ? 0 : i) * K * N;
      float* Ci = C + i * M * N;
      sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, Ai, ta ? M : K, Bi, tb ? K : N, Ci, N);
    }
    if (bias || act != kLinear) {
      const int64_t rows = batch * M;
#pragma omp parallel for schedule(static) if (rows * N > kParallelGrain)
      for (int64_t r = 0; r < rows; ++r) {
        float* row = C + r * N;
        for (int64_t j = 0; j < N; ++j) {
          float v = row[j] + (bias ? bias[biasLen == 1 ? 0 : j] : 0.f);
          row[j] = activate(v, act, alpha);
        }
      }
    }
    return undefinedValue(env);
  });
}

// ---------------------------------------------------------------------------
// Convolutions. params Int32Array[19]:
//   0 N, 1 IH, 2 IW, 3 IC, 4 OH, 5 OW, 6 OC, 7 KH, 8 KW, 9 strideH, 10 strideW,
//   11 dilationH, 12 dilationW (tfjs convention, 1 = none), 13 padTop, 14 padLeft,
//   15 padBottom, 16 padRight, 17 groups (1, or IC for depthwise), 18 activation.

struct ConvShape {
  int64_t N, IH, IW, IC, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, G, act;
  explicit ConvShape(const std::vector<int64_t>& p)
      : N(p[0]), IH(p[1]), IW(p[2]), IC(p[3]), OH(p[4]), OW(p[5]), OC(p[6]), KH(p[7]), KW(p[8]), SH(p[9]), SW(p[10]),
        DH(p[11]), DW(p[12]), PT(p[13]), PL(p[14]), PB(p[15]), PR(p[16]), G(p[17]), act(p[18]) {
    if (G < 1 || IC % G != 0 || OC % G != 0) throw JsError{"eccvkit native: bad convolution groups"};
  }
  memory::desc src() const { return memory::desc({N, IC, IH, IW}, dt::f32, tag::nhwc); }
  memory::desc dst() const { return memory::desc({N, OC, OH, OW}, dt::f32, tag::nhwc); }
  memory::dims weightDims() const {
    return G == 1 ? memory::dims{OC, IC, KH, KW} : memory::dims{G, OC / G, IC / G, KH, KW};
  }
  // tfjs filters: [kh, kw, in, out]; depthwise [kh, kw, in, mult] = hwigo with i = 1.
  memory::desc userWeights() const { return memory::desc(weightDims(), dt::f32, G == 1 ? tag::hwio : tag::hwigo); }
  memory::desc anyWeights() const { return memory::desc(weightDims(), dt::f32, tag::any); }
  memory::dims strides() const { return {SH, SW}; }
  memory::dims dilates() const { return {DH - 1, DW - 1}; }
  memory::dims padL() const { return {PT, PL}; }
  memory::dims padR() const { return {PB, PR}; }
  int64_t srcSize() const { return N * IH * IW * IC; }
  int64_t dstSize() const { return N * OH * OW * OC; }
  int64_t weightSize() const { return KH * KW * (IC / G) * OC; }
  int64_t flops() const { return 2 * dstSize() * KH * KW * (IC / G); }
};

dnnl::convolution_forward::primitive_desc forwardDesc(const ConvShape& s, bool withBias, const dnnl::primitive_attr& attr) {
  dnnl::convolution_forward::desc d =
      withBias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, s.src(),
                                                 s.anyWeights(), memory::desc({s.OC}, dt::f32, tag::x), s.dst(), s.strides(),
                                                 s.dilates(), s.padL(), s.padR())
               : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, s.src(),
                                                 s.anyWeights(), s.dst(), s.strides(), s.dilates(), s.padL(), s.padR());
  return dnnl::convolution_forward::primitive_desc(d, attr, cpuEngine());
}

// Primitive descriptors are cached by their parameters: building one walks
// oneDNN's implementation list, which costs more than a small convolution.
template <typename PD>
struct PdCache {
  std::mutex lock;
  std::unordered_map<std::string, PD> map;
  template <typename Make>
  PD get(const std::vector<int64_t>& p, int64_t extra, Make make) {
    std::string key;
    for (int64_t v : p) key += std::to_string(v) + ",";
    key += std::to_string(extra) + "|" + std::to_string(omp_get_max_threads());
    std::lock_guard<std::mutex> guard(lock);
    auto it = map.find(key);
    if (it != map.end()) return it->second;
    PD pd = make();
    if (map.size() > 512) map.clear();
    map.emplace(key, pd);
    return pd;
  }
};

memory weightsFor(const memory::desc& want, memory user) {
  if (want == user.get_desc()) return user;
  memory m(want, cpuEngine());
  dnnl::reorder(user, m).execute(cpuStream(), user, m);
  return m;
}

// conv2dForward(x, filter, bias|null, out, params, alpha)
napi_value Conv2dForward(napi_env env, napi_callback_info info) {
  return guardedOneDnn(env, [&] {
    static PdCache<dnnl::convolution_forward::primitive_desc> cache;
    std::vector<napi_value> a;
    args(env, info, 6, a);
    auto p = ints(env, a[4], 19, "params");
    ConvShape s(p);
    ThreadScope threads(s.flops());
    const float alpha = static_cast<float>(number(env, a[5]));
    float* x = floats(env, a[0], s.srcSize(), "x");
    float* w = floats(env, a[1], s.weightSize(), "filter");
    const bool withBias = !isNullish(env, a[2]);
    float* bias = withBias ? floats(env, a[2], s.OC, "bias") : nullptr;
    float* y = floats(env, a[3], s.dstSize(), "out");
    int32_t alphaBits;
    std::memcpy(&alphaBits, &alpha, sizeof alpha);
    auto pd = cache.get(p, (withBias ? 1 : 0) + 2 * static_cast<int64_t>(alphaBits), [&] {
      dnnl::primitive_attr attr;
      dnnl::post_ops ops;
      appendActivation(ops, s.act, alpha);
      attr.set_post_ops(ops);
      return forwardDesc(s, withBias, attr);
    });
    memory src(s.src(), cpuEngine(), x);
    memory dst(s.dst(), cpuEngine(), y);
    memory wUser(s.userWeights(), cpuEngine(), w);
    memory wts = weightsFor(pd.weights_desc(), wUser);
    std::unordered_map<int, memory> exec{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DST, dst}};
    if (withBias) exec.emplace(DNNL_ARG_BIAS, memory(memory::desc({s.OC}, dt::f32, tag::x), cpuEngine(), bias));
    dnnl::convolution_forward(pd).execute(cpuStream(), exec);
    cpuStream().wait();
    return undefinedValue(env);
  });
}

// conv2dBackwardData(dy, filter, dx, params)  (also conv2dTranspose's forward)
napi_value Conv2dBackwardData(napi_env env, napi_callback_info info) {
  return guardedOneDnn(env, [&] {
    static PdCache<dnnl::convolution_backward_data::primitive_desc> cache;
    std::vector<napi_value> a;
    args(env, info, 4, a);
    auto p = ints(env, a[3], 19, "params");
    ConvShape s(p);
    ThreadScope threads(s.flops());
    float* dy = floats(env, a[0], s.dstSize(), "dy");
    float* w = floats(env, a[1], s.weightSize(), "filter");
    float* dx = floats(env, a[2], s.srcSize(), "dx");
    auto pd = cache.get(p, 0, [&] {
      auto hint = forwardDesc(s, false, dnnl::primitive_attr());
      dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, s.src(), s.anyWeights(), s.dst(), s.strides(),
                                              s.dilates(), s.padL(), s.padR());
      return dnnl::convolution_backward_data::primitive_desc(d, cpuEngine(), hint);
    });
    memory diffDst(s.dst(), cpuEngine(), dy);
    memory diffSrc(s.src(), cpuEngine(), dx);
    memory wUser(s.userWeights(), cpuEngine(), w);
    memory wts = weightsFor(pd.weights_desc(), wUser);
    dnnl::convolution_backward_data(pd).execute(cpuStream(), {{DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DIFF_SRC, diffSrc}});
    cpuStream().wait();
    return undefinedValue(env);
  });
}

// conv2dBackwardFilter(x, dy, dw, params)
napi_value Conv2dBackwardFilter(napi_env env, napi_callback_info info) {
  return guardedOneDnn(env, [&] {
    static PdCache<dnnl::convolution_backward_weights::primitive_desc> cache;
    std::vector<napi_value> a;
    args(env, info, 4, a);
    auto p = ints(env, a[3], 19, "params");
    ConvShape s(p);
    ThreadScope threads(s.flops());
    float* x = floats(env, a[0], s.srcSize(), "x");
    float* dy = floats(env, a[1], s.dstSize(), "dy");
    float* dw = floats(env, a[2], s.weightSize(), "dw");
    if (s.KH == 1 && s.KW == 1 && s.G == 1 && s.PT == 0 && s.PL == 0 && s.PB == 0 && s.PR == 0) {
      // A 1×1 filter's gradient is one product, dw[ic, oc] = Σ x[n, oh·SH, ow·SW, ic]·dy[n, oh, ow, oc].
      // It also keeps oneDNN 2.6's strided 1×1 path off: with stride 2 and fewer than 8 input
      // channels its source copy writes past its scratch buffer (a 4×32×32×4 → 8 step corrupted the heap).
      const int64_t rows = s.N * s.OH * s.OW;
      const float* src = x;
      std::vector<float> picked;
      if (s.SH != 1 || s.SW != 1 || s.OH != s.IH || s.OW != s.IW) {
        picked.resize(static_cast<size_t>(rows * s.IC));
        for (int64_t n = 0; n < s.N; ++n)
          for (int64_t oh = 0; oh < s.OH; ++oh)
            for (int64_t ow = 0; ow < s.OW; ++ow)
              std::memcpy(picked.data() + ((n * s.OH + oh) * s.OW + ow) * s.IC, x + ((n * s.IH + oh * s.SH) * s.IW + ow * s.SW) * s.IC,
                          sizeof(float) * s.IC);
        src = picked.data();
      }
      sgemm('T', 'N', s.IC, s.OC, rows, src, s.IC, dy, s.OC, dw, s.OC);
      return undefinedValue(env);
    }
    auto pd = cache.get(p, 0, [&] {
      auto hint = forwardDesc(s, false, dnnl::primitive_attr());
      dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, s.src(), s.anyWeights(), s.dst(), s.strides(),
                                                 s.dilates(), s.padL(), s.padR());
      return dnnl::convolution_backward_weights::primitive_desc(d, cpuEngine(), hint);
    });
    memory src(s.src(), cpuEngine(), x);
    memory diffDst(s.dst(), cpuEngine(), dy);
    memory wUser(s.userWeights(), cpuEngine(), dw);
    const bool direct = pd.diff_weights_desc() == wUser.get_desc();
    memory diffW = direct ? wUser : memory(pd.diff_weights_desc(), cpuEngine());
    dnnl::convolution_backward_weights(pd).execute(cpuStream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_DIFF_WEIGHTS, diffW}});
    if (!direct) dnnl::reorder(diffW, wUser).execute(cpuStream(), diffW, wUser);
    cpuStream().wait();
    return undefinedValue(env);
  });
}

// ---------------------------------------------------------------------------
// Pooling, written out rather than through oneDNN so that ties and divisors
// follow the tfjs cpu kernels exactly: max pooling takes the first maximum in
// row-major window order; average pooling divides by the number of in-bounds
// cells; AvgPoolGrad divides by the whole window (tfjs's own convention).
// params Int32Array[13]: N, IH, IW, C, OH, OW, KH, KW, SH, SW, padTop, padLeft, isMax.

struct PoolShape {
  int64_t N, IH, IW, C, OH, OW, KH, KW, SH, SW, PT, PL, isMax;
  explicit PoolShape(const std::vector<int64_t>& p)
      : N(p[0]), IH(p[1]), IW(p[2]), C(p[3]), OH(p[4]), OW(p[5]), KH(p[6]), KW(p[7]), SH(p[8]), SW(p[9]), PT(p[10]), PL(p[11]),
        isMax(p[12]) {}
};

// pool(x, out, params)
napi_value Pool(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 3, a);
    PoolShape s(ints(env, a[2], 13, "params"));
    const float* x = floats(env, a[0], s.N * s.IH * s.IW * s.C, "x");
    float* y = floats(env, a[1], s.N * s.OH * s.OW * s.C, "out");
#pragma omp parallel if (s.N * s.OH * s.OW * s.C * s.KH * s.KW > kParallelGrain)
    {
      std::vector<float> acc(s.C);
#pragma omp for schedule(static)
      for (int64_t row = 0; row < s.N * s.OH; ++row) {
        const int64_t n = row / s.OH, oh = row % s.OH;
        const int64_t h0 = oh * s.SH - s.PT;
        for (int64_t ow = 0; ow < s.OW; ++ow) {
          const int64_t w0 = ow * s.SW - s.PL;
          std::fill(acc.begin(), acc.end(), s.isMax ? -std::numeric_limits<float>::infinity() : 0.f);
          int64_t count = 0;
          for (int64_t kh = 0; kh < s.KH; ++kh) {
            const int64_t h = h0 + kh;
            if (h < 0 || h >= s.IH) continue;
            for (int64_t kw = 0; kw < s.KW; ++kw) {
              const int64_t w = w0 + kw;
              if (w < 0 || w >= s.IW) continue;
              const float* px = x + ((n * s.IH + h) * s.IW + w) * s.C;
              ++count;
              if (s.isMax) {
                for (int64_t c = 0; c < s.C; ++c) acc[c] = px[c] > acc[c] ? px[c] : acc[c];
              } else {
                for (int64_t c = 0; c < s.C; ++c) acc[c] += px[c];
              }
            }
          }
          float* py = y + ((n * s.OH + oh) * s.OW + ow) * s.C;
          if (s.isMax) {
            std::copy(acc.begin(), acc.end(), py);
          } else {
            const float inv = count > 0 ? 1.f / static_cast<float>(count) : 0.f;
            for (int64_t c = 0; c < s.C; ++c) py[c] = acc[c] * inv;
          }
        }
      }
    }
    return undefinedValue(env);
  });
}

// poolGrad(dy, x|null, dx, params): max pooling needs x to find each window's
// first maximum; the average pool spreads dy / (KH·KW) over its window.
napi_value PoolGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 4, a);
    PoolShape s(ints(env, a[3], 13, "params"));
    const float* dy = floats(env, a[0], s.N * s.OH * s.OW * s.C, "dy");
    const float* x = s.isMax ? floats(env, a[1], s.N * s.IH * s.IW * s.C, "x") : nullptr;
    float* dx = floats(env, a[2], s.N * s.IH * s.IW * s.C, "dx");
    const float inv = 1.f / static_cast<float>(s.KH * s.KW);
    // Parallel over images: windows of one image overlap, those of two never do.
#pragma omp parallel if (s.N * s.OH * s.OW * s.C * s.KH * s.KW > kParallelGrain)
    {
      std::vector<float> best(s.C);
      std::vector<int64_t> where(s.C);
#pragma omp for schedule(static)
      for (int64_t n = 0; n < s.N; ++n) {
        float* dxn = dx + n * s.IH * s.IW * s.C;
        std::fill(dxn, dxn + s.IH * s.IW * s.C, 0.f);
        for (int64_t oh = 0; oh < s.OH; ++oh) {
          const int64_t h0 = oh * s.SH - s.PT;
          for (int64_t ow = 0; ow < s.OW; ++ow) {
            const int64_t w0 = ow * s.SW - s.PL;
            const float* g = dy + ((n * s.OH + oh) * s.OW + ow) * s.C;
            if (s.isMax) {
              std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
              std::fill(where.begin(), where.end(), -1);
            }
            for (int64_t kh = 0; kh < s.KH; ++kh) {
              const int64_t h = h0 + kh;
              if (h < 0 || h >= s.IH) continue;
              for (int64_t kw = 0; kw < s.KW; ++kw) {
                const int64_t w = w0 + kw;
                if (w < 0 || w >= s.IW) continue;
                const int64_t base = (h * s.IW + w) * s.C;
                if (s.isMax) {
                  const float* px = x + n * s.IH * s.IW * s.C + base;
                  for (int64_t c = 0; c < s.C; ++c) {
                    if (px[c] > best[c]) {
                      best[c] = px[c];
                      where[c] = base + c;
                    }
                  }
                } else {
                  for (int64_t c = 0; c < s.C; ++c) dxn[base + c] += g[c] * inv;
                }
              }
            }
            if (s.isMax) {
              for (int64_t c = 0; c < s.C; ++c) {
                if (where[c] >= 0) dxn[where[c]] += g[c];
              }
            }
          }
        }
      }
    }
    return undefinedValue(env);
  });
}

// ---------------------------------------------------------------------------
// batchNorm(x, mean, variance, offset|null, scale|null, out, epsilon): each
// parameter array broadcasts over x by index modulo its length, as tfjs's
// FusedBatchNorm kernel does.

// Batch norm in training mode over channels-last data, x [rows, C]: the batch
// moments and the normalised output in one kernel, and its gradient in one
// more (tfjs composes both from moments, broadcasts and a dozen element-wise
// passes). Sums run in double, per thread over a block of rows, then added.

// Per-channel sums of f(row, c) over rows, threaded over row blocks.
template <typename F>
void channelSums(int64_t rows, int64_t C, std::vector<double>& out, F f) {
  out.assign(static_cast<size_t>(C), 0.0);
  const int threads = (rows * C > kParallelGrain) ? omp_get_max_threads() : 1;
  std::vector<std::vector<double>> partial(static_cast<size_t>(threads), std::vector<double>(static_cast<size_t>(C), 0.0));
#pragma omp parallel num_threads(threads)
  {
    std::vector<double>& acc = partial[static_cast<size_t>(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) f(r, acc.data());
  }
  for (const auto& acc : partial)
    for (int64_t c = 0; c < C; ++c) out[c] += acc[c];
}

// batchNormTrain(x, scale|null, offset|null, y, mean, variance, params Int32Array[rows, C], epsilon):
// mean and (biased) variance per channel, y = (x − mean)·scale/√(variance + ε) + offset.
napi_value BatchNormTrain(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 8, a);
    const std::vector<int64_t> p = ints(env, a[6], 2, "params");
    const int64_t rows = p[0], C = p[1];
    if (rows < 1 || C < 1) throw JsError{"eccvkit native: batchNormTrain sizes"};
    const float* x = floats(env, a[0], static_cast<size_t>(rows * C), "x");
    const float* sc = isNullish(env, a[1]) ? nullptr : floats(env, a[1], static_cast<size_t>(C), "scale");
    const float* off = isNullish(env, a[2]) ? nullptr : floats(env, a[2], static_cast<size_t>(C), "offset");
    float* y = floats(env, a[3], static_cast<size_t>(rows * C), "y");
    float* mean = floats(env, a[4], static_cast<size_t>(C), "mean");
    float* var = floats(env, a[5], static_cast<size_t>(C), "variance");
    const float eps = static_cast<float>(number(env, a[7]));
    std::vector<double> sum, sq;
    channelSums(rows, C, sum, [&](int64_t r, double* acc) {
      const float* xr = x + r * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += xr[c];
    });
    std::vector<double> mu(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) mu[c] = sum[c] / static_cast<double>(rows);
    channelSums(rows, C, sq, [&](int64_t r, double* acc) {
      const float* xr = x + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const double d = xr[c] - mu[c];
        acc[c] += d * d;
      }
    });
    std::vector<float> mul(static_cast<size_t>(C)), add(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = static_cast<float>(mu[c]);
      var[c] = static_cast<float>(sq[c] / static_cast<double>(rows));
      mul[c] = (sc ? sc[c] : 1.f) / std::sqrt(var[c] + eps);
      add[c] = (off ? off[c] : 0.f) - mean[c] * mul[c];
    }
#pragma omp parallel for schedule(static) if (rows * C > kParallelGrain)
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * mul[c] + add[c];
    }
    return undefinedValue(env);
  });
}

// batchNormTrainGrad(x, dy, mean, variance, scale|null, dx, dscale, doffset, params Int32Array[rows, C], epsilon):
// with x̂ = (x − mean)/σ: doffset = Σ dy, dscale = Σ dy·x̂, dx = scale/σ·(dy − Σdy/N − x̂·Σ(dy·x̂)/N),
// the gradient through the batch moments included.
napi_value BatchNormTrainGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 10, a);
    const std::vector<int64_t> p = ints(env, a[8], 2, "params");
    const int64_t rows = p[0], C = p[1];
    if (rows < 1 || C < 1) throw JsError{"eccvkit native: batchNormTrainGrad sizes"};
    const float* x = floats(env, a[0], static_cast<size_t>(rows * C), "x");
    const float* dy = floats(env, a[1], static_cast<size_t>(rows * C), "dy");
    const float* mean = floats(env, a[2], static_cast<size_t>(C), "mean");
    const float* var = floats(env, a[3], static_cast<size_t>(C), "variance");
    const float* sc = isNullish(env, a[4]) ? nullptr : floats(env, a[4], static_cast<size_t>(C), "scale");
    float* dx = floats(env, a[5], static_cast<size_t>(rows * C), "dx");
    float* dscale = floats(env, a[6], static_cast<size_t>(C), "dscale");
    float* doff = floats(env, a[7], static_cast<size_t>(C), "doffset");
    const float eps = static_cast<float>(number(env, a[9]));
    std::vector<double> sdy, sdyx;
    channelSums(rows, C, sdy, [&](int64_t r, double* acc) {
      const float* g = dy + r * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += g[c];
    });
    channelSums(rows, C, sdyx, [&](int64_t r, double* acc) {
      const float* g = dy + r * C;
      const float* xr = x + r * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<double>(g[c]) * (static_cast<double>(xr[c]) - mean[c]);
    });
    std::vector<float> k1(static_cast<size_t>(C)), k2(static_cast<size_t>(C)), k3(static_cast<size_t>(C));
    const double n = static_cast<double>(rows);
    for (int64_t c = 0; c < C; ++c) {
      const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
      const double s = sc ? sc[c] : 1.0;
      doff[c] = static_cast<float>(sdy[c]);
      dscale[c] = static_cast<float>(sdyx[c] * inv);
      // dx = k1·dy + k2·(x − mean) + k3
      k1[c] = static_cast<float>(s * inv);
      k2[c] = static_cast<float>(-s * inv * inv * inv * sdyx[c] / n);
      k3[c] = static_cast<float>(-s * inv * sdy[c] / n);
    }
#pragma omp parallel for schedule(static) if (rows * C > kParallelGrain)
    for (int64_t r = 0; r < rows; ++r) {
      const float* g = dy + r * C;
      const float* xr = x + r * C;
      float* o = dx + r * C;
      for (int64_t c = 0; c < C; ++c) o[c] = k1[c] * g[c] + k2[c] * (xr[c] - mean[c]) + k3[c];
    }
    return undefinedValue(env);
  });
}

napi_value BatchNorm(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 7, a);
    size_t n = 0, nm = 0, nv = 0, no = 0, ns = 0, ny = 0;
    const float* x = typedArray<float>(env, a[0], napi_float32_array, &n, "x");
    const float* mean = typedArray<float>(env, a[1], napi_float32_array, &nm, "mean");
    const float* var = typedArray<float>(env, a[2], napi_float32_array, &nv, "variance");
    const float* off = isNullish(env, a[3]) ? nullptr : typedArray<float>(env, a[3], napi_float32_array, &no, "offset");
    const float* sc = isNullish(env, a[4]) ? nullptr : typedArray<float>(env, a[4], napi_float32_array, &ns, "scale");
    float* y = typedArray<float>(env, a[5], napi_float32_array, &ny, "out");
    const float eps = static_cast<float>(number(env, a[6]));
    if (ny < n || nm == 0 || nv == 0 || (off && no == 0) || (sc && ns == 0)) throw JsError{"eccvkit native: batchNorm sizes"};
    const int64_t total = static_cast<int64_t>(n);
    // Usual case: every parameter has one value per channel (the last axis):
    // fold them into a scale and a shift per channel, then stream rows.
    const size_t C = nm;
    if (nv == C && (!off || no == C) && (!sc || ns == C) && C > 0 && n % C == 0) {
      std::vector<float> mul(C), add(C);
      for (size_t c = 0; c < C; ++c) {
        mul[c] = (sc ? sc[c] : 1.f) / std::sqrt(var[c] + eps);
        add[c] = (off ? off[c] : 0.f) - mean[c] * mul[c];
      }
      const int64_t rows = total / static_cast<int64_t>(C);
      const int64_t width = static_cast<int64_t>(C);
#pragma omp parallel for schedule(static) if (total > kParallelGrain)
      for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * width;
        float* yr = y + r * width;
        for (int64_t c = 0; c < width; ++c) yr[c] = xr[c] * mul[c] + add[c];
      }
      return undefinedValue(env);
    }
#pragma omp parallel for schedule(static) if (total > kParallelGrain)
    for (int64_t i = 0; i < total; ++i) {
      const float s = sc ? sc[i % ns] : 1.f;
      const float o = off ? off[i % no] : 0.f;
      y[i] = o + (x[i] - mean[i % nm]) * s / std::sqrt(var[i % nv] + eps);
    }
    return undefinedValue(env);
  });
}


// ---------------------------------------------------------------------------
// Element-wise ops and sums. The JavaScript side merges dimensions first, so a
// binary op arrives as an output shape with per-input strides (0 where the
// input broadcasts), and a sum as x viewed [A, R, B] summed over R.

enum BinaryOp {
  kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kMax = 4, kMin = 5, kSquaredDifference = 6,
  // Comparisons write tfjs's bool storage: one byte per element, 0 or 1.
  kGreater = 7, kGreaterEqual = 8, kLess = 9, kLessEqual = 10, kEqual = 11, kNotEqual = 12,
  // After the comparisons: a float op again. In double, then rounded, as the cpu kernel's Math.pow.
  kPow = 13
};

constexpr bool isComparison(int op) { return op >= kGreater && op <= kNotEqual; }

template <int Op>
inline float binaryFloat(float a, float b) {
  if constexpr (Op == kAdd) return a + b;
  if constexpr (Op == kSub) return a - b;
  if constexpr (Op == kMul) return a * b;
  if constexpr (Op == kDiv) return a / b;
  if constexpr (Op == kMax) return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<float>::quiet_NaN() : (a > b ? a : b);
  if constexpr (Op == kMin) return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<float>::quiet_NaN() : (a < b ? a : b);
  if constexpr (Op == kSquaredDifference) return (a - b) * (a - b);
  if constexpr (Op == kPow) return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b)));
  return 0.f;
}

template <int Op>
inline auto binaryValue(float a, float b) {
  if constexpr (isComparison(Op)) {
    bool r = false;
    if constexpr (Op == kGreater) r = a > b;
    if constexpr (Op == kGreaterEqual) r = a >= b;
    if constexpr (Op == kLess) r = a < b;
    if constexpr (Op == kLessEqual) r = a <= b;
    if constexpr (Op == kEqual) r = a == b;
    if constexpr (Op == kNotEqual) r = a != b;
    return static_cast<uint8_t>(r ? 1 : 0);
  } else {
    return binaryFloat<Op>(a, b);
  }
}

template <int Op, typename Out>
void binaryLoop(const float* a, const float* b, Out* out, const std::vector<int64_t>& shape, const std::vector<int64_t>& sa,
                const std::vector<int64_t>& sb) {
  const int rank = static_cast<int>(shape.size());
  const int64_t inner = shape[rank - 1];
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; ++d) rows *= shape[d];
#pragma omp parallel for schedule(static) if (rows * inner > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, oa = 0, ob = 0;
    for (int d = rank - 2; d >= 0; --d) {
      const int64_t i = rem % shape[d];
      rem /= shape[d];
      oa += i * sa[d];
      ob += i * sb[d];
    }
    const float* pa = a + oa;
    const float* pb = b + ob;
    Out* po = out + r * inner;
    if (ia == 1 && ib == 1) {
      for (int64_t j = 0; j < inner; ++j) po[j] = binaryValue<Op>(pa[j], pb[j]);
    } else if (ia == 1) {
      const float vb = pb[0];
      if constexpr (Op == kPow) {
        // x^2 is exact in double for a float x, so this equals pow's value (a tenth of its time).
        if (vb == 2.f) {
          for (int64_t j = 0; j < inner; ++j) po[j] = static_cast<float>(static_cast<double>(pa[j]) * static_cast<double>(pa[j]));
          continue;
        }
      }
      for (int64_t j = 0; j < inner; ++j) po[j] = binaryValue<Op>(pa[j], vb);
    } else if (ib == 1) {
      const float va = pa[0];
      for (int64_t j = 0; j < inner; ++j) po[j] = binaryValue<Op>(va, pb[j]);
    } else {
      const auto v = binaryValue<Op>(pa[0], pb[0]);
      for (int64_t j = 0; j < inner; ++j) po[j] = v;
    }
  }
}

// binary(a, b, out, params Int32Array[1 + 3·rank]): op, then the output
// shape, a's strides and b's strides.
napi_value Binary(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 4, a);
    size_t plen = 0;
    const int32_t* p = typedArray<int32_t>(env, a[3], napi_int32_array, &plen, "params");
    if (plen < 4 || (plen - 1) % 3 != 0) throw JsError{"eccvkit native: binary params"};
    const size_t rank = (plen - 1) / 3;
    std::vector<int64_t> shape(p + 1, p + 1 + rank), sa(p + 1 + rank, p + 1 + 2 * rank), sb(p + 1 + 2 * rank, p + 1 + 3 * rank);
    int64_t total = 1, needA = 1, needB = 1;
    for (size_t d = 0; d < rank; ++d) {
      total *= shape[d];
      needA += (shape[d] - 1) * sa[d];
      needB += (shape[d] - 1) * sb[d];
    }
    const float* A = floats(env, a[0], needA, "a");
    const float* B = floats(env, a[1], needB, "b");
    if (isComparison(p[0])) {
      size_t outLen = 0;
      uint8_t* out = typedArray<uint8_t>(env, a[2], napi_uint8_array, &outLen, "out");
      if (static_cast<int64_t>(outLen) < total) throw JsError{"eccvkit native: comparison output too small"};
      switch (p[0]) {
        case kGreater: binaryLoop<kGreater>(A, B, out, shape, sa, sb); break;
        case kGreaterEqual: binaryLoop<kGreaterEqual>(A, B, out, shape, sa, sb); break;
        case kLess: binaryLoop<kLess>(A, B, out, shape, sa, sb); break;
        case kLessEqual: binaryLoop<kLessEqual>(A, B, out, shape, sa, sb); break;
        case kEqual: binaryLoop<kEqual>(A, B, out, shape, sa, sb); break;
        case kNotEqual: binaryLoop<kNotEqual>(A, B, out, shape, sa, sb); break;
        default: throw JsError{"eccvkit native: unknown comparison " + std::to_string(p[0])};
      }
      return undefinedValue(env);
    }
    float* out = floats(env, a[2], total, "out");
    switch (p[0]) {
      case kAdd: binaryLoop<kAdd>(A, B, out, shape, sa, sb); break;
      case kSub: binaryLoop<kSub>(A, B, out, shape, sa, sb); break;
      case kMul: binaryLoop<kMul>(A, B, out, shape, sa, sb); break;
      case kDiv: binaryLoop<kDiv>(A, B, out, shape, sa, sb); break;
      case kMax: binaryLoop<kMax>(A, B, out, shape, sa, sb); break;
      case kMin: binaryLoop<kMin>(A, B, out, shape, sa, sb); break;
      case kSquaredDifference: binaryLoop<kSquaredDifference>(A, B, out, shape, sa, sb); break;
      case kPow: binaryLoop<kPow>(A, B, out, shape, sa, sb); break;
      default: throw JsError{"eccvkit native: unknown binary op " + std::to_string(p[0])};
    }
    return undefinedValue(env);
  });
}

enum UnaryOp {
  kURelu = 0, kUStep = 1, kUSqrt = 2, kUSquare = 3, kUNeg = 4, kUExp = 5, kULog = 6, kUAbs = 7,
  kUTanh = 8, kUSigmoid = 9, kURsqrt = 10, kULeakyRelu = 11, kUElu = 12, kURelu6 = 13, kUReciprocal = 14
};

template <int Op>
inline float unaryValue(float x, float alpha) {
  if constexpr (Op == kURelu) return x < 0.f ? 0.f : x;
  if constexpr (Op == kUStep) return std::isnan(x) ? x : (x > 0.f ? 1.f : alpha);
  if constexpr (Op == kUSqrt) return std::sqrt(x);
  if constexpr (Op == kUSquare) return x * x;
  if constexpr (Op == kUNeg) return -x;
  if constexpr (Op == kUExp) return std::exp(x);
  if constexpr (Op == kULog) return std::log(x);
  if constexpr (Op == kUAbs) return std::fabs(x);
  if constexpr (Op == kUTanh) return std::tanh(x);
  if constexpr (Op == kUSigmoid) return 1.f / (1.f + std::exp(-x));
  if constexpr (Op == kURsqrt) return 1.f / std::sqrt(x);
  if constexpr (Op == kULeakyRelu) return x < 0.f ? alpha * x : x;
  if constexpr (Op == kUElu) return x >= 0.f ? x : std::expm1(x);
  if constexpr (Op == kURelu6) return std::min(std::max(x, 0.f), 6.f);
  if constexpr (Op == kUReciprocal) return 1.f / x;
  return x;
}

template <int Op>
void unaryLoop(const float* x, float* y, int64_t n, float alpha) {
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = unaryValue<Op>(x[i], alpha);
}

// unary(x, out, op, alpha)
napi_value Unary(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 4, a);
    size_t n = 0, ny = 0;
    const float* x = typedArray<float>(env, a[0], napi_float32_array, &n, "x");
    float* y = typedArray<float>(env, a[1], napi_float32_array, &ny, "out");
    if (ny < n) throw JsError{"eccvkit native: unary output too small"};
    const int op = static_cast<int>(number(env, a[2]));
    const float alpha = static_cast<float>(number(env, a[3]));
    const int64_t len = static_cast<int64_t>(n);
    switch (op) {
      case kURelu: unaryLoop<kURelu>(x, y, len, alpha); break;
      case kUStep: unaryLoop<kUStep>(x, y, len, alpha); break;
      case kUSqrt: unaryLoop<kUSqrt>(x, y, len, alpha); break;
      case kUSquare: unaryLoop<kUSquare>(x, y, len, alpha); break;
      case kUNeg: unaryLoop<kUNeg>(x, y, len, alpha); break;
      case kUExp: unaryLoop<kUExp>(x, y, len, alpha); break;
      case kULog: unaryLoop<kULog>(x, y, len, alpha); break;
      case kUAbs: unaryLoop<kUAbs>(x, y, len, alpha); break;
      case kUTanh: unaryLoop<kUTanh>(x, y, len, alpha); break;
      case kUSigmoid: unaryLoop<kUSigmoid>(x, y, len, alpha); break;
      case kURsqrt: unaryLoop<kURsqrt>(x, y, len, alpha); break;
      case kULeakyRelu: unaryLoop<kULeakyRelu>(x, y, len, alpha); break;
      case kUElu: unaryLoop<kUElu>(x, y, len, alpha); break;
      case kURelu6: unaryLoop<kURelu6>(x, y, len, alpha); break;
      case kUReciprocal: unaryLoop<kUReciprocal>(x, y, len, alpha); break;
      default: throw JsError{"eccvkit native: unknown unary op " + std::to_string(op)};
    }
    return undefinedValue(env);
  });
}

// adamUpdate(value, grad, m, v, outValue, outM, outV, params Float32Array[8]):
// params = [β1, 1−β1, β2, 1−β2, 1−β1^t, 1−β2^t, ε, −lr], each already a float32.
// tfjs's Adam, fused: the same float operations in the same order as its
// composed ops (mul, add, square, div, sqrt), each rounded to float (no FMA on
// this target), so the result is bit-identical to the unfused step.
napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 8, a);
    size_t n = 0;
    const float* value = typedArray<float>(env, a[0], napi_float32_array, &n, "value");
    const float* grad = floats(env, a[1], n, "grad");
    const float* m = floats(env, a[2], n, "m");
    const float* v = floats(env, a[3], n, "v");
    float* outValue = floats(env, a[4], n, "outValue");
    float* outM = floats(env, a[5], n, "outM");
    float* outV = floats(env, a[6], n, "outV");
    const float* p = floats(env, a[7], 8, "params");
    const float b1 = p[0], ob1 = p[1], b2 = p[2], ob2 = p[3], c1 = p[4], c2 = p[5], eps = p[6], nlr = p[7];
    const int64_t len = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static) if (len > kParallelGrain)
    for (int64_t i = 0; i < len; ++i) {
      const float g = grad[i];
      const float nm = m[i] * b1 + g * ob1;
      const float nv = v[i] * b2 + (g * g) * ob2;
      const float mh = nm / c1;
      const float vh = nv / c2;
      outM[i] = nm;
      outV[i] = nv;
      outValue[i] = (mh / (std::sqrt(vh) + eps)) * nlr + value[i];
    }
    return undefinedValue(env);
  });
}

// momentumUpdate(value, grad, acc, outValue, outAcc, params Float32Array[3]):
// params = [momentum, −lr, nesterov (0 or 1)]; tfjs's MomentumOptimizer fused,
// in its operation order (bit-identical to the composed step).
napi_value MomentumUpdate(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 6, a);
    size_t n = 0;
    const float* value = typedArray<float>(env, a[0], napi_float32_array, &n, "value");
    const float* grad = floats(env, a[1], n, "grad");
    const float* acc = floats(env, a[2], n, "acc");
    float* outValue = floats(env, a[3], n, "outValue");
    float* outAcc = floats(env, a[4], n, "outAcc");
    const float* p = floats(env, a[5], 3, "params");
    const float mom = p[0], c = p[1];
    const bool nesterov = p[2] != 0.f;
    const int64_t len = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static) if (len > kParallelGrain)
    for (int64_t i = 0; i < len; ++i) {
      const float g = grad[i];
      const float na = mom * acc[i] + g;
      outAcc[i] = na;
      outValue[i] = nesterov ? c * (g + na * mom) + value[i] : c * na + value[i];
    }
    return undefinedValue(env);
  });
}

// sum(x, out, params Int32Array[4]): x viewed as [A, R, B]; out[a, b] = Σ_r x[a, r, b],
// accumulated in double as tfjs's cpu kernel does (JavaScript numbers); the
// fourth parameter 1 divides by R (the mean).
napi_value Sum(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 3, a);
    auto p = ints(env, a[2], 4, "params");
    const int64_t A = p[0], R = p[1], B = p[2];
    const double scale = p[3] != 0 && R > 0 ? 1.0 / static_cast<double>(R) : 1.0;
    const float* x = floats(env, a[0], A * R * B, "x");
    float* out = floats(env, a[1], A * B, "out");
    if (B == 1) {
#pragma omp parallel for schedule(static) if (A * R > kParallelGrain)
      for (int64_t i = 0; i < A; ++i) {
        double acc = 0;
        const float* px = x + i * R;
        for (int64_t r = 0; r < R; ++r) acc += px[r];
        out[i] = static_cast<float>(acc * scale);
      }
      return undefinedValue(env);
    }
    // Column sums: each thread sums a share of the rows, then the shares are added.
    for (int64_t i = 0; i < A; ++i) {
      const float* xa = x + i * R * B;
      const int threads = (R * B > kParallelGrain) ? omp_get_max_threads() : 1;
      std::vector<double> partial(static_cast<size_t>(threads) * B, 0.0);
#pragma omp parallel num_threads(threads)
      {
        const int t = omp_get_thread_num();
        double* acc = partial.data() + static_cast<size_t>(t) * B;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < R; ++r) {
          const float* row = xa + r * B;
          for (int64_t j = 0; j < B; ++j) acc[j] += row[j];
        }
      }
      for (int64_t j = 0; j < B; ++j) {
        double total = 0;
        for (int t = 0; t < threads; ++t) total += partial[static_cast<size_t>(t) * B + j];
        out[i * B + j] = static_cast<float>(total * scale);
      }
    }
    return undefinedValue(env);
  });
}

// leakyReluGrad(dy, x, out, alpha): out = x > 0 ? dy : alpha·dy (tfjs: greater, mul, select).
napi_value LeakyReluGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 4, a);
    size_t n = 0;
    const float* dy = typedArray<float>(env, a[0], napi_float32_array, &n, "dy");
    const float* x = floats(env, a[1], n, "x");
    float* out = floats(env, a[2], n, "out");
    const float alpha = static_cast<float>(number(env, a[3]));
    const int64_t len = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static) if (len > kParallelGrain)
    for (int64_t i = 0; i < len; ++i) out[i] = x[i] > 0 ? dy[i] : dy[i] * alpha;
    return undefinedValue(env);
  });
}

// select(condition Uint8Array, t, e, out): out = condition ? t : e, all the same length.
napi_value Select(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 4, a);
    size_t n = 0;
    const uint8_t* c = typedArray<uint8_t>(env, a[0], napi_uint8_array, &n, "condition");
    const float* t = floats(env, a[1], n, "t");
    const float* e = floats(env, a[2], n, "e");
    float* out = floats(env, a[3], n, "out");
    const int64_t len = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static) if (len > kParallelGrain)
    for (int64_t i = 0; i < len; ++i) out[i] = c[i] ? t[i] : e[i];
    return undefinedValue(env);
  });
}

// tile(x, out, params Int32Array[1 + 2·rank]): rank, x's shape, the repeats.
napi_value Tile(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 3, a);
    size_t plen = 0;
    const int32_t* p = typedArray<int32_t>(env, a[2], napi_int32_array, &plen, "params");
    const int64_t rank = plen > 0 ? p[0] : 0;
    if (rank < 1 || plen != static_cast<size_t>(1 + 2 * rank)) throw JsError{"eccvkit native: tile params"};
    std::vector<int64_t> in(p + 1, p + 1 + rank), outShape(rank);
    int64_t inSize = 1, outSize = 1;
    for (int64_t d = 0; d < rank; ++d) {
      outShape[d] = in[d] * p[1 + rank + d];
      inSize *= in[d];
      outSize *= outShape[d];
    }
    const float* x = floats(env, a[0], inSize, "x");
    float* y = floats(env, a[1], outSize, "out");
    const int64_t inner = in[rank - 1], outInner = outShape[rank - 1];
    const int64_t rows = outSize / std::max<int64_t>(outInner, 1);
#pragma omp parallel for schedule(static) if (outSize > kParallelGrain)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t rem = r, src = 0, stride = inner;
      for (int64_t d = rank - 2; d >= 0; --d) {
        const int64_t i = rem % outShape[d];
        rem /= outShape[d];
        src += (i % in[d]) * stride;
        stride *= in[d];
      }
      float* row = y + r * outInner;
      for (int64_t j = 0; j < outInner; j += inner) std::memcpy(row + j, x + src, sizeof(float) * inner);
    }
    return undefinedValue(env);
  });
}

// ---------------------------------------------------------------------------
// metricLoss(embeddings, weights|null, lists Int32Array[], outLoss, outDE, outDW|null,
//            params Float64Array[10]) → false (computing nothing) when the embeddings hold NaN or ±∞:
// one metric-learning loss with its gradients in one call (src/metric/fused.ts
// says which configurations come here; the formulas are those of
// src/metric/losses.ts and weight-losses.ts, whose composed tfjs ops are the
// reference the tests compare with). params = [kind, N, D, R, weightsLayout,
// L0, L1, p0, p1, p2]:
//   0 contrastive (m_pos, m_neg): lists a1, p (L0) and a2, n (L1); AvgNonZero per term
//   1 triplet (margin): lists a, p, n (L0 each); AvgNonZero over triplets
//   2 multi-similarity (α, β, λ): pair lists as 0; mean over the N anchors
//   3 NT-Xent (τ): pair lists as 0; mean over positive pairs
//   4 Proxy Anchor (δ, α): lists [labels]; weights [R=C, D]
//   5 ArcFace (margin in radians, scale): lists [labels]; weights [D, R=C]
// Kinds 0, 2 and 3 with L0 = L1 = −1 take lists [labels] and every pair of the batch.
// Embeddings (and weights) are L2-normalised as l2Normalize does (norm clamped
// at 1e-12); G = Ê·Refᵀ (Ref = Ê for 0-3, the normalised proxies for 4-5) by
// oneDNN's sgemm; the loss pass gives dL/dG, which flows back through the
// product and the normalisation. Sums run in double.
namespace metric {

struct Normalized {
  std::vector<float> x;       // rows divided by their norm
  std::vector<double> inv;    // 1 / max(‖row‖, 1e-12)
  std::vector<uint8_t> clamped;
};

Normalized normalizeRows(const float* x, int64_t rows, int64_t cols) {
  Normalized out{std::vector<float>(rows * cols), std::vector<double>(rows), std::vector<uint8_t>(rows)};
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float ss = 0.f;
    for (int64_t c = 0; c < cols; ++c) ss += row[c] * row[c];
    const float floor = 1e-24f;
    const bool clamped = !(ss > floor);
    const float norm = std::sqrt(clamped ? floor : ss);
    out.clamped[r] = clamped;
    out.inv[r] = 1.0 / norm;
    for (int64_t c = 0; c < cols; ++c) out.x[r * cols + c] = row[c] / norm;
  }
  return out;
}

// dx = (dx̂ − x̂·(dx̂·x̂)) / ‖x‖ (only dx̂ / ‖x‖ where the norm was clamped).
void normalizeBackward(const Normalized& n, const float* dxh, int64_t rows, int64_t cols, float* dx) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xh = n.x.data() + r * cols;
    const float* g = dxh + r * cols;
    double dot = 0;
    if (!n.clamped[r])
      for (int64_t c = 0; c < cols; ++c) dot += static_cast<double>(g[c]) * xh[c];
    for (int64_t c = 0; c < cols; ++c) dx[r * cols + c] = static_cast<float>((g[c] - xh[c] * dot) * n.inv[r]);
  }
}

// Distances of normalised rows from their Gram matrix, as LpDistance (p 2, power 1) computes them:
// d = √relu(n_i − 2G_ij + n_j) with n_i = G_ii, and 0 (zero gradient) where that is 0. Float loops over
// contiguous rows, so GCC vectorizes the square roots (with -fno-math-errno: see binding.gyp).
struct Distances {
  std::vector<float> d;
  std::vector<double> dd;  // dL/dd, accumulated per entry
  Distances(const float* G, int64_t N) : d(N * N), dd(N * N) {
    for (int64_t i = 0; i < N; ++i) {
      const float gi = G[i * N + i];
      const float* row = G + i * N;
      float* out = d.data() + i * N;
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) {
        const float sq = (gi - 2.f * row[j]) + G[j * N + j];
        out[j] = sq > 0.f ? std::sqrt(sq) : 0.f;
      }
    }
  }
  // dL/dd → dL/dG through d = √(G_ii − 2G_ij + G_jj): dsq = dd / (2d) where d > 0.
  void backward(int64_t N, std::vector<double>& dG) const {
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < N; ++j) {
        const double g = dd[i * N + j];
        const float dij = d[i * N + j];
        if (g == 0 || !(dij > 0.f)) continue;
        const double dsq = g * 0.5 / dij;
        dG[i * N + j] -= 2 * dsq;
        dG[i * N + i] += dsq;
        dG[j * N + j] += dsq;
      }
  }
};

// e^x for float x in a form GCC vectorizes (Cephes' expf: range reduction by ln 2 in two parts, a degree-6
// polynomial, the exponent set by bits); within 1.1e-7 relative of exp on [−87.3, 88.3] (measured against
// double exp every 7e-4 of [−100, 88]), 0 below, and 0 at −∞. glibc's expf has no vector form without
// -ffast-math, which would also reassociate the sums here.
inline float vexp(float x) {
  const float lo = -87.33654475f, hi = 88.37626266f;
  const float xc = x < lo ? lo : (x > hi ? hi : x);
  const float fx = xc * 1.44269504088896341f + 0.5f;
  int32_t n = static_cast<int32_t>(fx);
  n -= (static_cast<float>(n) > fx) ? 1 : 0;
  const float fn = static_cast<float>(n);
  const float r = (xc - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.f;
  const int32_t bits = (n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x < lo ? 0.f : y * scale;
}

// log(1 + Σ_k e^{x_k}) over a buffer whose unused entries hold −∞; the buffer is overwritten with
// e^{x_k − shift}, so e^{x_k}/(1 + Σ) = x[k] / sum.
struct LogOnePlusSum {
  double value;
  double sum;
};
// Cloned for x86-64-v3 (AVX2, FMA) and chosen at load time: the exponentials are latency-bound, and 8-wide
// fused multiply-adds run them about 3× faster than the SSE2 baseline the addon is built for.
__attribute__((target_clones("arch=x86-64-v3", "default"))) LogOnePlusSum logOnePlusSum(int64_t count, float* x) {
  float m = 0.f;
#pragma omp simd reduction(max : m)
  for (int64_t k = 0; k < count; ++k) m = std::max(m, x[k]);
#pragma omp simd
  for (int64_t k = 0; k < count; ++k) x[k] = vexp(x[k] - m);
  double sum = std::exp(-static_cast<double>(m));
  for (int64_t k = 0; k < count; ++k) sum += x[k];
  return {m + std::log(sum), sum};
}

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// NT-Xent's row of negatives: e[k] = c[k]·e^{s[k]/τ − max} where c[k] > 0 (else 0); returns the max and Σ e.
__attribute__((target_clones("arch=x86-64-v3", "default"))) std::pair<float, double> countedRowExp(int64_t count, const float* S, const float* c, float invTau, float* e) {
  float m = kNegInf;
#pragma omp simd reduction(max : m)
  for (int64_t k = 0; k < count; ++k) m = std::max(m, c[k] > 0.f ? S[k] * invTau : kNegInf);
  if (m == kNegInf) return {m, 0.0};
#pragma omp simd
  for (int64_t k = 0; k < count; ++k) e[k] = c[k] > 0.f ? c[k] * vexp(S[k] * invTau - m) : 0.f;
  double sum = 0;
  for (int64_t k = 0; k < count; ++k) sum += e[k];
  return {m, sum};
}

// Kinds 0, 2 and 3 read every pair of the batch straight from `labels` when it is given (no tuple), else the lists.
double pairLoss(int kind, const float* G, int64_t N, const int32_t* const* lists, int64_t L0, int64_t L1, const int32_t* labels, const double* prm, std::vector<double>& dG) {
  if (kind == 0) {  // contrastive: AvgNonZero over the positive and over the negative pairs, separately
    Distances D(G, N);
    const float* d = D.d.data();
    double posSum = 0, negSum = 0;
    int64_t posCount = 0, negCount = 0;
    std::vector<double> posMark(N * N), negMark(N * N);  // how often each (i, j) is a violating pair
    auto positive = [&](int64_t ij) {
      const double l = d[ij] - prm[0];
      if (l > 0) posSum += l, ++posCount, posMark[ij] += 1;
    };
    auto negative = [&](int64_t ij) {
      const double l = prm[1] - d[ij];
      if (l > 0) negSum += l, ++negCount, negMark[ij] += 1;
    };
    if (labels != nullptr) {
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < N; ++j) {
          if (i == j) continue;
          if (labels[i] == labels[j]) positive(i * N + j);
          else negative(i * N + j);
        }
    } else {
      const int32_t *a1 = lists[0], *p = lists[1], *a2 = lists[2], *n = lists[3];
      for (int64_t t = 0; t < L0; ++t) positive(a1[t] * N + p[t]);
      for (int64_t t = 0; t < L1; ++t) negative(a2[t] * N + n[t]);
    }
    const double wp = posCount > 0 ? 1.0 / posCount : 0.0, wn = negCount > 0 ? 1.0 / negCount : 0.0;
    for (int64_t k = 0; k < N * N; ++k) D.dd[k] = posMark[k] * wp - negMark[k] * wn;
    D.backward(N, dG);
    return posSum * wp + negSum * wn;
  }
  if (kind == 1) {  // triplet margin: one pass, the ±1 of each violating triplet scaled by 1/count after
    const int32_t *a = lists[0], *p = lists[1], *n = lists[2];
    Distances D(G, N);
    const float* d = D.d.data();
    double* dd = D.dd.data();
    const double margin = prm[0];
    double sum = 0;
    int64_t count = 0;
    for (int64_t t = 0; t < L0; ++t) {
      const int64_t ap = a[t] * N + p[t], an = a[t] * N + n[t];
      const double v = static_cast<double>(d[ap]) - d[an] + margin;
      if (v > 0) {
        sum += v;
        ++count;
        dd[ap] += 1;
        dd[an] -= 1;
      }
    }
    if (count == 0) return 0;
    for (double& g : D.dd) g /= static_cast<double>(count);
    D.backward(N, dG);
    return sum / count;
  }
  const int32_t *a1 = lists[0], *p = lists[1], *a2 = lists[2], *n = lists[3];
  if (kind == 2) {  // multi-similarity on cosine similarities S = G
    const float alpha = static_cast<float>(prm[0]), beta = static_cast<float>(prm[1]), base = static_cast<float>(prm[2]);
    std::vector<uint8_t> pos(N * N), neg(N * N);
    if (labels != nullptr) {
      for (int64_t i = 0; i < N; ++i)
        for (int64_t k = 0; k < N; ++k) {
          pos[i * N + k] = labels[i] == labels[k] && i != k;
          neg[i * N + k] = labels[i] != labels[k];
        }
    } else {
      for (int64_t t = 0; t < L0; ++t) pos[a1[t] * N + p[t]] = 1;
      for (int64_t t = 0; t < L1; ++t) neg[a2[t] * N + n[t]] = 1;
    }
    double total = 0;
    // Positives are few per anchor (m − 1 of an m-per-class batch): their exponentials run over a packed list.
    std::vector<float> ep(N), en(N);
    std::vector<int32_t> pk(N);
    for (int64_t i = 0; i < N; ++i) {
      const float* S = G + i * N;
      const uint8_t* pi = pos.data() + i * N;
      const uint8_t* ni = neg.data() + i * N;
      int64_t np = 0;
      for (int64_t k = 0; k < N; ++k)
        if (pi[k]) pk[np] = static_cast<int32_t>(k), ep[np++] = alpha * (base - S[k]);
#pragma omp simd
      for (int64_t k = 0; k < N; ++k) en[k] = ni[k] ? beta * (S[k] - base) : kNegInf;
      const LogOnePlusSum lp = logOnePlusSum(np, ep.data());
      const LogOnePlusSum ln = logOnePlusSum(N, en.data());
      total += lp.value / prm[0] + ln.value / prm[1];
      double* row = dG.data() + i * N;
      const double wn = 1.0 / (ln.sum * N), wp = 1.0 / (lp.sum * N);
      for (int64_t k = 0; k < N; ++k) row[k] += en[k] * wn;
      for (int64_t j = 0; j < np; ++j) row[pk[j]] -= ep[j] * wp;
    }
    return total / N;
  }
  // NT-Xent on logits S/τ: per positive pair (a, p), log(e^{s_ap} + Σ_{k} c_ak·e^{s_ak}) − s_ap, where c_ak
  // counts (a, k) among the negative pairs; the mean over positive pairs.
  const double tau = prm[0];
  const float invTau = static_cast<float>(1.0 / tau);
  // ce[i, k] = c_ik·e^{s_ik − max_k s_ik} over the negatives, kept for the gradient.
  std::vector<float> count(N * N), ce(N * N);
  std::vector<double> rowMax(N), rowSum(N), weight(N);
  std::vector<int32_t> fa, fp;  // the positive pairs, when read from the labels
  if (labels != nullptr) {
    for (int64_t i = 0; i < N; ++i)
      for (int64_t k = 0; k < N; ++k) {
        count[i * N + k] = labels[i] != labels[k] ? 1.f : 0.f;
        if (labels[i] == labels[k] && i != k) fa.push_back(static_cast<int32_t>(i)), fp.push_back(static_cast<int32_t>(k));
      }
    a1 = fa.data();
    p = fp.data();
    L0 = static_cast<int64_t>(fa.size());
    L1 = 0;
    for (const float c : count) L1 += c > 0.f;
  } else {
    for (int64_t t = 0; t < L1; ++t) count[a2[t] * N + n[t]] += 1.f;
  }
  if (L0 == 0 || L1 == 0) return 0;
  for (int64_t i = 0; i < N; ++i) {
    const auto [m, sum] = countedRowExp(N, G + i * N, count.data() + i * N, invTau, ce.data() + i * N);
    rowMax[i] = m;
    rowSum[i] = sum;
  }
  double total = 0;
  for (int64_t t = 0; t < L0; ++t) {
    const int64_t i = a1[t];
    const double s = G[i * N + p[t]] / tau;
    if (rowSum[i] == 0) continue;  // an anchor without negatives: log(e^{s}) − s = 0
    const double shift = std::max(s, rowMax[i]);
    const double z = std::exp(s - shift) + std::exp(rowMax[i] - shift) * rowSum[i];
    total += shift + std::log(z) - s;
    dG[i * N + p[t]] += (std::exp(s - shift) / z - 1) / (tau * L0);
    weight[i] += std::exp(rowMax[i] - shift) / z;
  }
  for (int64_t i = 0; i < N; ++i) {
    if (weight[i] == 0) continue;
    const double w = weight[i] / (tau * L0);
    for (int64_t k = 0; k < N; ++k) dG[i * N + k] += w * ce[i * N + k];
  }
  return total / L0;
}

double proxyLoss(int kind, const float* C, int64_t N, int64_t R, const int32_t* labels, const double* prm, std::vector<double>& dC) {
  if (kind == 4) {  // Proxy Anchor, per proxy (column) c over the batch
    const float delta = static_cast<float>(prm[0]), alpha = static_cast<float>(prm[1]);
    std::vector<uint8_t> seen(R);
    for (int64_t i = 0; i < N; ++i) seen[labels[i]] = 1;
    int64_t withPos = 0;
    for (int64_t c = 0; c < R; ++c) withPos += seen[c];
    double posTotal = 0, negTotal = 0;
    std::vector<float> ep(N), en(N);
    for (int64_t c = 0; c < R; ++c) {
      for (int64_t i = 0; i < N; ++i) {
        const float s = C[i * R + c];
        ep[i] = labels[i] == c ? alpha * (delta - s) : kNegInf;
        en[i] = labels[i] != c ? alpha * (s + delta) : kNegInf;
      }
      const LogOnePlusSum lp = logOnePlusSum(N, ep.data());
      const LogOnePlusSum ln = logOnePlusSum(N, en.data());
      posTotal += lp.value;
      negTotal += ln.value;
      const double wn = prm[1] / (ln.sum * R), wp = withPos > 0 ? prm[1] / (lp.sum * withPos) : 0.0;
      for (int64_t i = 0; i < N; ++i) dC[i * R + c] += en[i] * wn - ep[i] * wp;
    }
    return (withPos > 0 ? posTotal / withPos : 0) + negTotal / R;
  }
  // ArcFace: cross-entropy over s·cos θ_j, the target's cos θ_y replaced by cos(θ_y + m) (or cos θ_y − m·sin m
  // past π − m), with the cosine clamped to ±(1 − 1e-7) first as the composed ops do.
  const double m = prm[0], scale = prm[1];
  const double cm = std::cos(m), sm = std::sin(m);
  const float lo = -1.f + 1e-7f, hi = 1.f - 1e-7f;
  double total = 0;
  std::vector<double> logits(R);
  for (int64_t i = 0; i < N; ++i) {
    const float* row = C + i * R;
    const int64_t y = labels[i];
    const float cy = row[y];
    const double cc = std::min(std::max(cy, lo), hi);
    const bool inRange = cy >= lo && cy <= hi;
    const bool wrapped = cc < -cm;
    const double target = wrapped ? cc - m * sm : cc * cm - std::sqrt(1 - cc * cc) * sm;
    const double dTarget = inRange ? (wrapped ? 1.0 : cm + cc / std::sqrt(1 - cc * cc) * sm) : 0.0;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < R; ++j) {
      logits[j] = scale * (j == y ? target : row[j]);
      mx = std::max(mx, logits[j]);
    }
    double sum = 0;
    for (int64_t j = 0; j < R; ++j) sum += std::exp(logits[j] - mx);
    total += mx + std::log(sum) - logits[y];
    for (int64_t j = 0; j < R; ++j) {
      const double dLogit = (std::exp(logits[j] - mx) / sum - (j == y ? 1.0 : 0.0)) / N;
      dC[i * R + j] += scale * dLogit * (j == y ? dTarget : 1.0);
    }
  }
  return total / N;
}

}  // namespace metric

// distanceMatrix(x, out, params Float64Array[3]): a miner's [N, N] matrix of normalised rows, params =
// [N, D, kind]: kind 0 LpDistance (p 2, power 1) as metric::Distances computes it, 1 CosineSimilarity
// (the Gram matrix). Returns false (computing nothing) when x holds NaN or ±Infinity.
napi_value DistanceMatrix(napi_env env, napi_callback_info info) {
  return guardedOneDnn(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 3, a);
    const double* prm = typedArray<double>(env, a[2], napi_float64_array, nullptr, "params");
    const int64_t N = static_cast<int64_t>(prm[0]), D = static_cast<int64_t>(prm[1]);
    const int kind = static_cast<int>(prm[2]);
    const float* x = floats(env, a[0], N * D, "x");
    float* out = floats(env, a[1], N * N, "out");
    const bool finite = allFinite(x, N * D);
    napi_value result;
    napi_get_boolean(env, finite, &result);
    if (!finite) return result;
    ThreadScope threads(0);
    metric::Normalized xn = metric::normalizeRows(x, N, D);
    std::vector<float> G(N * N);
    sgemm('N', 'T', N, N, D, xn.x.data(), D, xn.x.data(), D, kind == 1 ? out : G.data(), N);
    if (kind == 0) {
      metric::Distances dist(G.data(), N);
      std::copy(dist.d.begin(), dist.d.end(), out);
    }
    napi_get_boolean(env, true, &result);
    return result;
  });
}

napi_value MetricLoss(napi_env env, napi_callback_info info) {
  return guardedOneDnn(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 7, a);
    const double* prm = typedArray<double>(env, a[6], napi_float64_array, nullptr, "params");
    const int kind = static_cast<int>(prm[0]);
    const int64_t N = static_cast<int64_t>(prm[1]), D = static_cast<int64_t>(prm[2]), R = static_cast<int64_t>(prm[3]);
    const bool weightsDR = prm[4] != 0;
    const int64_t L0 = static_cast<int64_t>(prm[5]), L1 = static_cast<int64_t>(prm[6]);
    if (kind < 0 || kind > 5) throw JsError{"eccvkit native: unknown metric loss kind " + std::to_string(kind)};
    const bool proxies = kind >= 4;
    const float* E = floats(env, a[0], N * D, "embeddings");
    // indices: a JS array of Int32Arrays: the labels (weight losses, and pair losses over every pair:
    // L0 = L1 = −1), the tuple's a1, p, a2, n (pairs) or a, p, n (triplets).
    bool isArray = false;
    napi_is_array(env, a[2], &isArray);
    if (!isArray) throw JsError{"eccvkit native: metricLoss indices must be an array of Int32Arrays"};
    uint32_t listCount = 0;
    napi_get_array_length(env, a[2], &listCount);
    const bool fromLabels = !proxies && kind != 1 && L0 < 0;
    const uint32_t wantLists = proxies || fromLabels ? 1 : kind == 1 ? 3 : 4;
    if (listCount != wantLists) throw JsError{"eccvkit native: metricLoss needs " + std::to_string(wantLists) + " index lists, got " + std::to_string(listCount)};
    std::vector<const int32_t*> listPtr(4, nullptr);
    for (uint32_t k = 0; k < listCount; ++k) {
      napi_value el;
      napi_get_element(env, a[2], k, &el);
      size_t len = 0;
      listPtr[k] = typedArray<int32_t>(env, el, napi_int32_array, &len, "indices");
      const size_t need = proxies || fromLabels ? N : (kind == 1 || k < 2) ? L0 : L1;
      if (len != need) throw JsError{"eccvkit native: metricLoss index list " + std::to_string(k) + " holds " + std::to_string(len) + " values, needs " + std::to_string(need)};
    }
    const int32_t* idx = listPtr[0];
    float* outLoss = floats(env, a[3], 1, "outLoss");
    float* outDE = floats(env, a[4], N * D, "outDE");
    // One thread: at batch sizes a loss step sees (128 × 64) waking OpenMP's second thread for the two
    // products cost more than it saved (measured: 155 µs a contrastive call on two threads, 73 µs on one).
    ThreadScope threads(0);
    const bool finite = allFinite(E, N * D);
    napi_value result;
    napi_get_boolean(env, finite, &result);
    if (!finite) return result;
    metric::Normalized en = metric::normalizeRows(E, N, D);
    std::vector<float> G(N * R);
    std::vector<float> dGf(N * R);
    std::vector<float> dEn(N * D);
    if (!proxies) {
      sgemm('N', 'T', N, N, D, en.x.data(), D, en.x.data(), D, G.data(), N);
      std::vector<double> dG(N * N);
      const int32_t* lists[4] = {listPtr[0], listPtr[1], listPtr[2], listPtr[3]};
      const double loss = metric::pairLoss(kind, G.data(), N, lists, L0, L1, fromLabels ? idx : nullptr, prm + 7, dG);
      // G = Ê·Êᵀ: dÊ = (dG + dGᵀ)·Ê.
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < N; ++j) dGf[i * N + j] = static_cast<float>(dG[i * N + j] + dG[j * N + i]);
      sgemm('N', 'N', N, D, N, dGf.data(), N, en.x.data(), D, dEn.data(), D);
      metric::normalizeBackward(en, dEn.data(), N, D, outDE);
      outLoss[0] = static_cast<float>(loss);
      return result;
    }
    const float* W = floats(env, a[1], R * D, "weights");
    float* outDW = floats(env, a[5], R * D, "outDW");
    std::vector<float> rows(R * D);  // the reference rows: proxies [C, D], or ArcFace's [D, C] transposed
    if (weightsDR) {
      for (int64_t d = 0; d < D; ++d)
        for (int64_t c = 0; c < R; ++c) rows[c * D + d] = W[d * R + c];
    } else {
      std::copy(W, W + R * D, rows.begin());
    }
    for (int64_t i = 0; i < N; ++i)
      if (idx[i] < 0 || idx[i] >= R) throw JsError{"eccvkit native: metricLoss label " + std::to_string(idx[i]) + " outside [0, " + std::to_string(R) + ")"};
    metric::Normalized pn = metric::normalizeRows(rows.data(), R, D);
    sgemm('N', 'T', N, R, D, en.x.data(), D, pn.x.data(), D, G.data(), R);
    std::vector<double> dC(N * R);
    const double loss = metric::proxyLoss(kind, G.data(), N, R, idx, prm + 7, dC);
    for (int64_t k = 0; k < N * R; ++k) dGf[k] = static_cast<float>(dC[k]);
    // C = Ê·P̂ᵀ: dÊ = dC·P̂, dP̂ = dCᵀ·Ê.
    sgemm('N', 'N', N, D, R, dGf.data(), R, pn.x.data(), D, dEn.data(), D);
    metric::normalizeBackward(en, dEn.data(), N, D, outDE);
    std::vector<float> dPn(R * D), dRows(R * D);
    sgemm('T', 'N', R, D, N, dGf.data(), R, en.x.data(), D, dPn.data(), D);
    metric::normalizeBackward(pn, dPn.data(), R, D, dRows.data());
    if (weightsDR) {
      for (int64_t d = 0; d < D; ++d)
        for (int64_t c = 0; c < R; ++c) outDW[d * R + c] = dRows[c * D + d];
    } else {
      std::copy(dRows.begin(), dRows.end(), outDW);
    }
    outLoss[0] = static_cast<float>(loss);
    return result;
  });
}


// ---------------------------------------------------------------------------
// Retrieval ranking (src/metric/knn.ts): one block of query rows against the
// whole reference set: their dot products (the sgemm the matMul kernel runs, so
// the same numbers), squared distances, and each row ranked, rows spread over
// the threads. Results equal the JS path's bit for bit: the distance is formed
// in double and rounded to float as JS does, and the order is the total order
// on (distance, index), so any selection method agrees.
//
// rankRows(query Float32Array[size·dim] (the block's rows), ref Float32Array[nr·dim],
//          querySq Float32Array[size], refSq Float32Array[nr],
//          k Int32Array[size] (≤ 0: row skipped), queryLabels Int32Array[size],
//          refLabels Int32Array[nr], outTop Int32Array[size·kStride],
//          outFirst Int32Array[size], scratch Float32Array[size·nr],
//          params Int32Array[size, nr, dim, kStride, selfStart])
// selfStart ≥ 0: the reference is the query set and row i's own column,
// selfStart + i, is set to +∞. outFirst: 1-based rank of the nearest entry
// with the row's label (0 when none has it).
// The row loops are built for AVX-512 and AVX2 too, picked at load time (the addon is otherwise
// compiled for the baseline x86-64). Contracting to FMA cannot change the distances: 2·q·r is exact in double.
#if defined(__x86_64__) && defined(__GNUC__)
#define ECCVKIT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ECCVKIT_CLONES
#endif

ECCVKIT_CLONES void distanceRow(float* __restrict d, const float* __restrict refSq, double qs, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float v = static_cast<float>(qs + static_cast<double>(refSq[j]) - 2.0 * static_cast<double>(d[j]));
    d[j] = v > 0 ? v : 0.0f;
  }
}

// Entries before (best, bestJ) in (distance, index) order: ≤ best left of bestJ, < best from it on.
// Two branch-free counting loops (one loop with the index test ran at 2.4 ns per entry, unvectorised).
ECCVKIT_CLONES int32_t countBefore(const float* __restrict d, float best, int64_t bestJ, int64_t n) {
  int32_t before = 0;
  for (int64_t j = 0; j < bestJ; ++j) before += d[j] <= best;
  for (int64_t j = bestJ; j < n; ++j) before += d[j] < best;
  return before;
}

// Keys (distance bits << 32 | index) of the entries ≤ bound, in index order; returns their number. Distances
// are ≥ 0, so their bits order as the values do. Candidates are a few per cent of a row: blocks of 16 are
// tested at once (vectorised) and only blocks holding one are walked.
ECCVKIT_CLONES int64_t collectBelow(const float* __restrict d, float bound, int64_t n, uint64_t* __restrict keys) {
  int64_t m = 0;
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    int hit = 0;
    for (int t = 0; t < 16; ++t) hit |= d[j + t] <= bound;
    if (!hit) continue;
    for (int64_t t = j; t < j + 16; ++t) {
      uint32_t bits;
      std::memcpy(&bits, d + t, 4);
      keys[m] = (static_cast<uint64_t>(bits) << 32) | static_cast<uint64_t>(t);
      m += d[t] <= bound;
    }
  }
  for (; j < n; ++j) {
    uint32_t bits;
    std::memcpy(&bits, d + j, 4);
    keys[m] = (static_cast<uint64_t>(bits) << 32) | static_cast<uint64_t>(j);
    m += d[j] <= bound;
  }
  return m;
}

napi_value RankRows(napi_env env, napi_callback_info info) {
  return guardedOneDnn(env, [&] {
    std::vector<napi_value> a;
    args(env, info, 11, a);
    const std::vector<int64_t> p = ints(env, a[10], 5, "params");
    const int64_t size = p[0], nr = p[1], dim = p[2], kStride = p[3], selfStart = p[4];
    if (size < 1 || nr < 1 || dim < 1 || kStride < 0) throw JsError{"eccvkit native: rankRows sizes"};
    const float* query = floats(env, a[0], static_cast<size_t>(size * dim), "query");
    const float* ref = floats(env, a[1], static_cast<size_t>(nr * dim), "ref");
    const float* qsq = floats(env, a[2], static_cast<size_t>(size), "querySq");
    const float* rsq = floats(env, a[3], static_cast<size_t>(nr), "refSq");
    size_t len = 0;
    const int32_t* k = typedArray<int32_t>(env, a[4], napi_int32_array, &len, "k");
    if (len < static_cast<size_t>(size)) throw JsError{"eccvkit native: rankRows k too short"};
    const int32_t* ql = typedArray<int32_t>(env, a[5], napi_int32_array, &len, "queryLabels");
    if (len < static_cast<size_t>(size)) throw JsError{"eccvkit native: rankRows queryLabels too short"};
    const int32_t* rl = typedArray<int32_t>(env, a[6], napi_int32_array, &len, "refLabels");
    if (len < static_cast<size_t>(nr)) throw JsError{"eccvkit native: rankRows refLabels too short"};
    int32_t* top = typedArray<int32_t>(env, a[7], napi_int32_array, &len, "outTop");
    if (len < static_cast<size_t>(size * kStride)) throw JsError{"eccvkit native: rankRows outTop too short"};
    int32_t* first = typedArray<int32_t>(env, a[8], napi_int32_array, &len, "outFirst");
    if (len < static_cast<size_t>(size)) throw JsError{"eccvkit native: rankRows outFirst too short"};
    float* block = floats(env, a[9], static_cast<size_t>(size * nr), "scratch");
    for (int64_t i = 0; i < size; ++i)
      if (k[i] > kStride) throw JsError{"eccvkit native: rankRows k exceeds kStride"};
    {
      ThreadScope threads(2 * size * nr * dim);
      sgemm('N', 'T', size, nr, dim, query, dim, ref, dim, block, nr);
    }
    const float inf = std::numeric_limits<float>::infinity();
    // Reference indices per label, ascending.
    std::unordered_map<int32_t, std::vector<int32_t>> byLabel;
    for (int64_t j = 0; j < nr; ++j) byLabel[rl[j]].push_back(static_cast<int32_t>(j));
#pragma omp parallel
    {
      std::vector<uint64_t> keys;
      std::vector<float> sample;
      keys.resize(static_cast<size_t>(nr));
#pragma omp for schedule(dynamic, 4)
      for (int64_t i = 0; i < size; ++i) {
        float* d = block + i * nr;
        const double qs = qsq[i];
        const int64_t ki = std::min<int64_t>(k[i], nr);
        const int64_t self = selfStart >= 0 ? selfStart + i : -1;
        const int32_t label = ql[i];
        // Pass 1: the distances (the arithmetic of the JS path: (q² + r²) − 2q·r in double, rounded to float, clamped at 0).
        distanceRow(d, rsq, qs, nr);
        if (self >= 0 && self < nr) d[self] = inf;
        // The nearest entry with the query's label (ties by index), from that label's members only.
        int64_t bestJ = -1;
        float best = inf;
        const auto members = byLabel.find(label);
        if (members != byLabel.end())
          for (const int32_t j : members->second)
            if (bestJ < 0 || d[j] < best) {
              best = d[j];
              bestJ = j;
            }
        if (ki <= 0) {
          first[i] = 0;
          continue;
        }
        // A bound on the k-th distance from a strided sample keeps the selection to a few candidates.
        float bound = inf;
        if (nr >= 8192 && ki * 8 <= nr) {
          const int64_t stride = nr / 2048;
          sample.clear();
          for (int64_t j = 0; j < nr; j += stride) sample.push_back(d[j]);
          const int64_t m = static_cast<int64_t>(sample.size());
          const int64_t at = std::min<int64_t>(m, (ki * m * 3 + 2 * nr - 1) / (2 * nr) + 16) - 1;
          // The (at+1)-th smallest sample by a max-heap of the at+1 smallest: after the first few, most samples
          // are one comparison (nth_element over the 2,048 took as long as the rest of the row).
          std::make_heap(sample.begin(), sample.begin() + at + 1);
          for (int64_t t = at + 1; t < m; ++t)
            if (sample[t] < sample[0]) {
              std::pop_heap(sample.begin(), sample.begin() + at + 1);
              sample[at] = sample[t];
              std::push_heap(sample.begin(), sample.begin() + at + 1);
            }
          bound = sample[0];
        }
        // Pass 2: the rank of that nearest labelled entry, and the candidates at or below the bound.
        first[i] = bestJ >= 0 ? countBefore(d, best, bestJ, nr) + 1 : 0;
        uint64_t* kp = keys.data();
        int64_t m = collectBelow(d, bound, nr, kp);
        if (m < ki) m = collectBelow(d, inf, nr, kp);
        std::nth_element(kp, kp + (ki - 1), kp + m);
        std::sort(kp, kp + ki);
        int32_t* out = top + i * kStride;
        for (int64_t t = 0; t < ki; ++t) out[t] = static_cast<int32_t>(kp[t] & 0xffffffffu);
      }
    }
    return undefinedValue(env);
  });
}

napi_value Init(napi_env env, napi_value exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  const Fn fns[] = {{"setThreads", SetThreads},
                    {"getThreads", GetThreads},
                    {"version", Version},
                    {"matMul", MatMul},
                    {"conv2dForward", Conv2dForward},
                    {"conv2dBackwardData", Conv2dBackwardData},
                    {"conv2dBackwardFilter", Conv2dBackwardFilter},
                    {"pool", Pool},
                    {"poolGrad", PoolGrad},
                    {"batchNorm", BatchNorm},
                    {"batchNormTrain", BatchNormTrain},
                    {"batchNormTrainGrad", BatchNormTrainGrad},
                    {"binary", Binary},
                    {"unary", Unary},
                    {"sum", Sum},
                    {"tile", Tile},
                    {"select", Select},
                    {"leakyReluGrad", LeakyReluGrad},
                    {"adamUpdate", AdamUpdate},
                    {"momentumUpdate", MomentumUpdate},
                    {"rankRows", RankRows},
                    {"metricLoss", MetricLoss},
                    {"distanceMatrix", DistanceMatrix}};
  for (const Fn& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
