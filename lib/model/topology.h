// The zoo's layer topology in one place: how its layers are named (fcK, convN, bnN), which
// dense layer consumes another's output, and which tensors produce a dense layer's input. Every
// transform that edits a layer and the units that feed or read it asks here.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

namespace ds {

// Layer names the zoo gives its modules (1-based): dense "fc1", conv "conv1", batch norm "bn1".
std::string dense_layer_name(int k);
std::string conv_layer_name(int n);
std::string batch_norm_name(int n);
// K of a dense layer name "fcK"; 0 for any other name.
int dense_layer_index(const std::string& layer);

// The zoo class of a model without its uniqueness counter ("MLP0" -> "MLP"); "" for others.
std::string zoo_type(const torch::jit::Module& model);

// The dense layer that consumes `layer`'s output ("fc2" for "fc1"); throws InputError if the
// model has no such pair.
std::string next_dense_layer(const torch::jit::Module& model, const std::string& layer);
// The layer that produces the logits: the prefix of the last 2-D "*.weight" parameter.
std::string last_dense_layer(const torch::jit::Module& model);
// The last dense layer that feeds another one (fc2 in the MLP, fc1 in the CNN): the default
// target of the function-preserving transforms. Throws InputError when there is none.
std::string last_hidden_dense_layer(const torch::jit::Module& model);

// What produces the input of dense layer `layer` of a zoo MLP or CNN.
struct DenseInput {
  // The tap holding that input before the CNN's pooling: the previous dense layer, or the last
  // conv block. Empty for the MLP's first layer, which reads the normalised pixels.
  std::string tap;
  bool pooled = false;  // the input is tap after 2x2 max pooling (the zoo CNN's conv blocks)
  // Tensors whose scaling by c > 0 scales the input by c: the previous layer's weight and bias,
  // or the last batch norm's (conv's) scale and shift, or the input normalisation's std, which
  // divides (`divide`).
  std::vector<torch::Tensor> scale_tensors;
  bool divide = false;
};
// Throws InputError naming the layer when the model is not a zoo MLP or CNN dense layer fcK.
DenseInput dense_layer_input(const torch::jit::Module& model, const std::string& layer);

}  // namespace ds
