using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("ChipKit.OpenCL.Tests")]
