#include "common/dataset_info.h"

namespace lcsweep {

StatusOr<DataSetInfo> GetDataSetInfo(const DataConfig& data) {
  DataSetInfo info;
  info.name = data.name;
  // Normalisation constants: CIFAR-10's are docs/method.md section 5; the others are
  // the usual per-data-set training-set statistics.
  if (data.name == "cifar10") {
    info.mean = {0.4914, 0.4822, 0.4465};
    info.std = {0.2470, 0.2435, 0.2616};
  } else if (data.name == "cifar100") {
    info.classes = 100;
    info.mean = {0.5071, 0.4865, 0.4409};
    info.std = {0.2673, 0.2564, 0.2762};
  } else if (data.name == "svhn") {
    info.train_size = 73257;  // train_32x32.mat (the "extra" split is not read)
    info.test_size = 26032;
    info.mean = {0.4377, 0.4438, 0.4728};
    info.std = {0.1980, 0.2010, 0.1970};
  } else if (data.name == "fashion_mnist" || data.name == "mnist") {
    // 28x28 grey images, upscaled to 32x32 (docs/method.md section 5).
    info.channels = 1;
    info.stored_image_size = 28;
    info.train_size = 60000;
    if (data.name == "fashion_mnist") {
      info.mean = {0.2860};
      info.std = {0.3530};
      info.default_root = "/usr/share/datasets/fashion-mnist";
    } else {
      info.mean = {0.1307};
      info.std = {0.3081};
    }
  } else if (data.name == "imagenet") {
    info.classes = 1000;
    info.image_size = info.stored_image_size = data.image_size;
    info.train_size = info.test_size = 0;
    info.mean = {0.485, 0.456, 0.406};
    info.std = {0.229, 0.224, 0.225};
  } else if (data.name == "synthetic") {
    info.channels = data.synthetic.channels;
    info.classes = data.synthetic.classes;
    info.image_size = info.stored_image_size = data.synthetic.image_size;
    info.train_size = data.synthetic.train_size;
    info.test_size = data.synthetic.test_size;
    info.mean.assign(info.channels, 0.5);
    info.std.assign(info.channels, 0.25);
  } else {
    return InvalidArgumentError("unknown data set '" + data.name +
                                "'; allowed: cifar10, cifar100, fashion_mnist, mnist, svhn, "
                                "imagenet, synthetic");
  }
  return info;
}

}  // namespace lcsweep
