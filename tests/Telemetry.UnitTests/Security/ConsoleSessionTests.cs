using System.Globalization;
using System.Security.Claims;
using Telemetry.Service.Security;
using Telemetry.Service.TechnicianConsole;

namespace Telemetry.UnitTests.Security;

/// <summary>What the console's sign-in cookie carries, and how long it lasts.</summary>
public sealed class ConsoleSessionTests
{
    static readonly DateTimeOffset Now = new(2026, 12, 3, 19, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_tokens_session_carries_its_name_and_the_api_roles_it_holds_in_the_tokens_role_claim()
    {
        var token = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim("sub", "4f1c"), new Claim("name", "Dana Fischer"), new Claim("roles", "technician"), new Claim("roles", "auditor")],
            "AuthenticationTypes.Federation", "name", "roles"));

        var session = ConsoleAuthentication.SessionOf(token);

        Assert.Equal(ConsoleAuthentication.SchemeName, session.Identity?.AuthenticationType);
        Assert.Equal("Dana Fischer", ApiCaller.Identity(session));
        Assert.Equal(["technician"], session.FindAll(ClaimTypes.Role).Select(c => c.Value));
        Assert.True(session.IsInRole(ApiRoles.Technician));
        Assert.False(session.IsInRole(ApiRoles.Admin));
    }

    [Fact]
    public void An_api_keys_session_names_the_key_and_remembers_it_came_from_a_key()
    {
        var key = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim("name", "night shift"), new Claim(ClaimTypes.Role, "admin"), new Claim("auth_method", ApiKeyAuthenticationHandler.SchemeName)],
            ApiKeyAuthenticationHandler.SchemeName, "name", ClaimTypes.Role));

        var session = ConsoleAuthentication.SessionOf(key);

        Assert.Equal("night shift", ApiCaller.Identity(session));
        Assert.Equal(ApiKeyAuthenticationHandler.SchemeName, session.FindFirst("auth_method")?.Value);
        Assert.Equal(["admin"], session.FindAll(ClaimTypes.Role).Select(c => c.Value));
    }

    [Fact]
    public void A_session_lasts_eight_hours_or_until_the_token_expires_whichever_is_first()
    {
        static ClaimsPrincipal Expiring(DateTimeOffset at) =>
            new(new ClaimsIdentity([new Claim("name", "x"), new Claim("exp", at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture))], "test"));

        Assert.Equal(Now.AddHours(8), ConsoleAuthentication.ExpiresAt(new ClaimsPrincipal(new ClaimsIdentity([new Claim("name", "key")], "test")), Now));
        Assert.Equal(Now.AddMinutes(10), ConsoleAuthentication.ExpiresAt(Expiring(Now.AddMinutes(10)), Now));
        Assert.Equal(Now.AddHours(8), ConsoleAuthentication.ExpiresAt(Expiring(Now.AddDays(2)), Now));
    }

    [Fact]
    public void A_keys_session_stays_valid_only_while_a_key_of_that_name_and_role_is_configured()
    {
        var key = ApiKeys.Create("night shift", ApiRoles.Technician);
        var options = new ApiOptions();
        options.Keys.Add(new ApiKeyOptions { Name = key.Name, Role = key.Role, Hash = key.Hash });

        var keys = ApiKeySet.From(options);

        Assert.True(keys.Has("night shift", ApiRoles.Technician));
        Assert.False(keys.Has("night shift", ApiRoles.Admin));
        Assert.False(keys.Has("day shift", ApiRoles.Technician));
        Assert.False(ApiKeySet.Empty.Has("night shift", ApiRoles.Technician));
    }
}
