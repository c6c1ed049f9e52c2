global using NUnit.Framework;
global using ChipKit.Onnx;
