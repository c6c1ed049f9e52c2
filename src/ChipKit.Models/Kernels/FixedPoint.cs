namespace ChipKit.Models.Kernels;

/// <summary>
/// TFLite Micro's integer arithmetic (gemmlowp fixed point), written from TFLITE_INT8_SEMANTICS.md:
/// QuantizeMultiplier, the two rounding primitives, double-rounding MultiplyByQuantizedMultiplier and the
/// int8 softmax helpers (exp on negative values, 1/(1+x)).
/// </summary>
public static class FixedPoint
{
    /// <summary>C's frexp for finite positive doubles: value = fraction * 2^exponent, fraction in [0.5, 1).</summary>
    public static double Frexp(double value, out int exponent)
    {
        if (value == 0 || double.IsNaN(value) || double.IsInfinity(value))
        {
            exponent = 0;
            return value;
        }

        long bits = BitConverter.DoubleToInt64Bits(value);
        int e = (int)((bits >> 52) & 0x7FF);
        if (e == 0)
        {
            // subnormal: normalise first
            double scaled = value * Math.Pow(2, 64);
            double f = Frexp(scaled, out int e2);
            exponent = e2 - 64;
            return f;
        }

        exponent = e - 1022;
        long fracBits = (bits & ~(0x7FFL << 52)) | (1022L << 52);
        return BitConverter.Int64BitsToDouble(fracBits);
    }

    /// <summary>TFLite's QuantizeMultiplier: M ≈ m * 2^(shift - 31), m in [2^30, 2^31); shift &lt; -31 flushes to (0, 0).</summary>
    public static (int Multiplier, int Shift) QuantizeMultiplier(double realMultiplier)
    {
        if (realMultiplier == 0)
        {
            return (0, 0);
        }

        double q = Frexp(realMultiplier, out int shift);
        long qFixed = (long)Math.Round(q * (1L << 31), MidpointRounding.AwayFromZero);
        if (qFixed == 1L << 31)
        {
            qFixed /= 2;
            shift++;
        }

        if (shift < -31)
        {
            return (0, 0);
        }

        if (shift > 30)
        {
            // TFLite caps the shift at 30 and saturates the multiplier
            return (int.MaxValue, 30);
        }

        return ((int)qFixed, shift);
    }

    /// <summary>SaturatingRoundingDoublingHighMul: floor(a*b / 2^31 + 1/2); the one overflow case saturates.</summary>
    public static int SatRoundDoublingHighMul(int a, int b)
    {
        if (a == int.MinValue && b == int.MinValue)
        {
            return int.MaxValue;
        }

        long ab = (long)a * b;
        long nudge = ab >= 0 ? 1L << 30 : 1 - (1L << 30);
        long r = ab + nudge;
        // division by 2^31 truncating toward zero
        return (int)(r >= 0 ? r >> 31 : -((-r) >> 31));
    }

    /// <summary>RoundingDivideByPOT: x / 2^exponent, rounding halves away from zero.</summary>
    public static int RoundingDivideByPot(int x, int exponent)
    {
        int mask = (int)((1L << exponent) - 1);
        int remainder = x & mask;
        int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
        return (x >> exponent) + (remainder > threshold ? 1 : 0);
    }

    /// <summary>MultiplyByQuantizedMultiplier with TFLite's default double rounding.</summary>
    public static int MultiplyByQuantizedMultiplier(int x, int multiplier, int shift)
    {
        int left = shift > 0 ? shift : 0;
        int right = shift > 0 ? 0 : -shift;
        return RoundingDivideByPot(SatRoundDoublingHighMul(unchecked(x * (1 << left)), multiplier), right);
    }

    private static int SaturatingLeftShift(int x, int exponent)
    {
        long r = (long)x << exponent;
        return r > int.MaxValue ? int.MaxValue : r < int.MinValue ? int.MinValue : (int)r;
    }

    /// <summary>gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl, Q0.31 in and out.</summary>
    private static int ExpOnIntervalNegQuarterTo0(int a)
    {
        const int constantTerm = 1895147668; // exp(-1/8)
        const int constantOneOverThree = 715827883;
        int x = a + (1 << 28); // + 1/8 in Q0.31
        int x2 = SatRoundDoublingHighMul(x, x);
        int x3 = SatRoundDoublingHighMul(x2, x);
        int x4 = SatRoundDoublingHighMul(x2, x2);
        int x4Over4 = RoundingDivideByPot(x4, 2);
        int t = SatRoundDoublingHighMul(x4Over4 + x3, constantOneOverThree) + x2;
        int poly = RoundingDivideByPot(t, 1);
        return constantTerm + SatRoundDoublingHighMul(constantTerm, x + poly);
    }

    private static readonly int[] ExpBarrelMultipliers = [1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242];

    /// <summary>gemmlowp exp_on_negative_values for a Q5.26 input (≤ 0); result in Q0.31.</summary>
    public static int ExpOnNegativeValues(int a)
    {
        const int integerBits = 5;
        const int fractionalBits = 31 - integerBits;
        const int oneQuarter = 1 << (fractionalBits - 2);
        int mask = oneQuarter - 1;
        int aModQuarterMinusOneQuarter = (a & mask) - oneQuarter;
        int result = ExpOnIntervalNegQuarterTo0(SaturatingLeftShift(aModQuarterMinusOneQuarter, integerBits));
        int remainder = aModQuarterMinusOneQuarter - a;
        for (int k = 0; k < 7; k++)
        {
            int bit = 1 << (fractionalBits - 2 + k);
            if ((remainder & bit) != 0)
            {
                result = SatRoundDoublingHighMul(result, ExpBarrelMultipliers[k]);
            }
        }

        return a == 0 ? int.MaxValue : result;
    }

    /// <summary>gemmlowp one_over_one_plus_x_for_x_in_0_1: x in Q0.31 → 1/(1+x) in Q0.31.</summary>
    public static int OneOverOnePlusX(int a)
    {
        // half_sum = (a + 1) / 2 with rounding, in Q0.31 (RoundingHalfSum of a and 2^31-1)
        long sum = (long)a + int.MaxValue;
        long sign = sum >= 0 ? 1 : -1;
        int halfDenominator = (int)((sum + sign) / 2);
        const int constant48Over17 = 1515870810;
        const int constantNeg32Over17 = -1010580540;
        int x = constant48Over17 + SatRoundDoublingHighMul(halfDenominator, constantNeg32Over17);
        const int oneQ2_29 = 1 << 29;
        for (int i = 0; i < 3; i++)
        {
            int halfDenominatorTimesX = SatRoundDoublingHighMul(halfDenominator, x);
            int oneMinus = oneQ2_29 - halfDenominatorTimesX;
            x += SaturatingLeftShift(SatRoundDoublingHighMul(x, oneMinus), 2);
        }

        // halve (x / 2 as Q2.29 → Q1.30 reinterpretation) then convert to Q0.31 with saturating shift by 1
        return SaturatingLeftShift(x, 1);
    }

    /// <summary>GetReciprocal: 1/sum as Q0.31 with the extra power of two in numBitsOverUnit.</summary>
    public static int GetReciprocal(int x, int integerBits, out int numBitsOverUnit)
    {
        int headroom = System.Numerics.BitOperations.LeadingZeroCount((uint)x);
        numBitsOverUnit = integerBits - headroom;
        int shiftedSumMinusOne = (int)(((uint)x << headroom) - (1u << 31));
        return OneOverOnePlusX(shiftedSumMinusOne);
    }
}
