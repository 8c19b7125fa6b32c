#include "parallel/nccl/nccl_dtype.h"

#include <stdexcept>
#include <string>

namespace uspdit::parallel {

ncclDataType_t nccl_dtype(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return ncclFloat32;
    case at::kDouble:
      return ncclFloat64;
    case at::kHalf:
      return ncclFloat16;
    case at::kBFloat16:
      return ncclBfloat16;
    case at::kLong:
      return ncclInt64;
    case at::kInt:
      return ncclInt32;
    case at::kChar:
      return ncclInt8;
    case at::kByte:
    case at::kBool:
      return ncclUint8;  // bool is one byte 0/1: max and sum keep their meaning
    default:
      throw std::invalid_argument(std::string("NCCL communicator: unsupported dtype ") + c10::toString(type));
  }
}

}  // namespace uspdit::parallel
