namespace TunStack.Fuzz;

/// <summary>
/// Thrown by a fuzz target when the stack broke one of its own rules on the input (an accounting
/// identity, a TCP sequence relation, a bound, data delivered out of order). It escapes the
/// target on purpose: AFL++ records it as a crash, like any exception the stack lets out.
/// </summary>
internal sealed class InvariantViolationException : Exception
{
    public InvariantViolationException(string message)
        : base(message)
    {
    }

    public InvariantViolationException()
    {
    }

    public InvariantViolationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// A view (<c>TryCreate</c>, with its reason for a refusal) and the header parser built on it
    /// must agree on whether <paramref name="what"/> is well formed. Returns whether the view took it.
    /// </summary>
    public static bool CheckParsersAgree(bool viewTook, Wire.WireError error, bool parserTook, string what)
    {
        Check(viewTook == parserTook, $"the view and the header parser disagree on a {what}");
        Check(viewTook == (error == Wire.WireError.None), $"the view's reason for a {what} is {error}");
        return viewTook;
    }

    /// <summary>Throws when <paramref name="holds"/> is false.</summary>
    public static void Check(bool holds, string rule)
    {
        if (!holds)
        {
            throw new InvariantViolationException(rule);
        }
    }
}
