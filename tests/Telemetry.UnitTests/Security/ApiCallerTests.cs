using System.Security.Claims;
using Telemetry.Service.Security;

namespace Telemetry.UnitTests.Security;

/// <summary>Who an action is recorded under.</summary>
public sealed class ApiCallerTests
{
    static ClaimsPrincipal User(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "test"));

    [Fact]
    public void Secured_TheCallersNameIsRecorded_AndTheBodysByIgnored()
    {
        var caller = new ApiCaller(Open: false);

        Assert.Equal("Dana Fischer", caller.NameOf(User(("sub", "4f1c"), ("preferred_username", "dfischer"), ("name", "Dana Fischer")), by: "someone else"));
        Assert.Equal("dfischer", caller.NameOf(User(("sub", "4f1c"), ("preferred_username", "dfischer")), by: null));
        Assert.Equal("4f1c", caller.NameOf(User(("sub", "4f1c"), ("name", "  ")), by: "x"));
    }

    [Fact]
    public void Secured_ANameIsMadeVisible_AndCut()
    {
        Assert.Equal("evil\\u000Aline", ApiCaller.Identity(User(("name", "evil\nline"))));
        Assert.Equal(ApiCaller.MaxNameLength, ApiCaller.Identity(User(("name", new string('n', 1000))))!.Length);
        Assert.Null(ApiCaller.Identity(User(("email", "a@b.c"))));
    }

    [Fact]
    public void Open_TheBodysByIsRecorded_AndRequired()
    {
        var caller = new ApiCaller(Open: true);
        var anonymous = new ClaimsPrincipal(new ClaimsIdentity());

        Assert.Equal("technician on call", caller.NameOf(anonymous, " technician on call "));
        Assert.Null(caller.NameOf(anonymous, " "));
        Assert.Null(caller.NameOf(anonymous, null));
    }
}
