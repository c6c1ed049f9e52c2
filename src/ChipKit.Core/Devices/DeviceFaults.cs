namespace ChipKit.Core.Devices;

/// <summary>
/// The device went away while ChipKit was using it (a GPU that fell off the bus, a driver reset, an OpenCL device that
/// reports CL_DEVICE_NOT_AVAILABLE, a remote device whose connection dropped). The runner records the result as failed
/// with this message and does not use the device again in the run; the other devices go on.
/// </summary>
public sealed class DeviceLostException : Exception
{
    public DeviceLostException()
    {
    }

    public DeviceLostException(string message)
        : base(message)
    {
    }

    public DeviceLostException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// The device could not allocate a workload's buffers (CUDA out of memory, CL_MEM_OBJECT_ALLOCATION_FAILURE,
/// CL_OUT_OF_RESOURCES). The runner records that workload as failed with the sizes asked for and goes on; the device
/// stays in use for the following (possibly smaller) workloads.
/// </summary>
public sealed class DeviceOutOfMemoryException : Exception
{
    public DeviceOutOfMemoryException()
    {
    }

    public DeviceOutOfMemoryException(string message)
        : base(message)
    {
    }

    public DeviceOutOfMemoryException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
