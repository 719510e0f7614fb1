// SGD with momentum and weight decay, torch.optim.SGD's update (dampening 0, no Nesterov):
//   v = momentum * v + (grad + weight_decay * p);  p -= lr * v
// with parameter groups, and momentum buffers that are plain named tensors, so a checkpoint of them is a
// state_dict like any other.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "models/torch_io.h"

namespace apot::train {

class MomentumSgd {
 public:
  struct Group {
    std::vector<std::pair<std::string, torch::Tensor>> params;
    double lr = 0.1;
    double weight_decay = 0;
  };

  MomentumSgd(std::vector<Group> groups, double momentum);

  void zero_grad();
  void step();
  // Multiplies each group's base learning rate by `factor` (schedules).
  void set_lr_factor(double factor);
  double lr(size_t group) const;

  // Mirrors every negative element of the group's parameters, and its momentum, to positive. For a
  // parameter the loss sees only through its magnitude, training from -p mirrors training from p step
  // for step (momentum and weight decay included), so this changes nothing but the sign.
  void reflect_negative(size_t group);

  // "momentum.<param name>" -> buffer, for checkpoints; load restores them (strict about names and shapes).
  models::StateDict state() const;
  void load_state(const models::StateDict& state, const std::string& source);

 private:
  std::vector<Group> groups_;
  std::vector<double> base_lr_;
  double momentum_;
  std::vector<std::vector<torch::Tensor>> buffers_;  // per group, per param; undefined until the first step
};

}  // namespace apot::train
